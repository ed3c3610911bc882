import type { ChildProcess } from 'node:child_process';

/**
 * Reads the child's reports until it says it has read more than `rows` rows, kills it with
 * SIGKILL, and waits for it to die. Fails when the child ends on its own.
 */
export function killWhenPastRows(child: ChildProcess, rows: number): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const reports: Array<Record<string, unknown>> = [];
    let stderr = '';
    let buffered = '';
    let killed = false;
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl = buffered.indexOf('\n');
      while (nl !== -1) {
        const report = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        buffered = buffered.slice(nl + 1);
        reports.push(report);
        if (!killed && report.event === 'progress' && Number(report.rows) >= rows) {
          killed = true;
          child.kill('SIGKILL');
        }
        nl = buffered.indexOf('\n');
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (killed && signal === 'SIGKILL') resolve(reports);
      else reject(new Error(`the child ended on its own (code ${code}, signal ${signal}): ${stderr}`));
    });
  });
}

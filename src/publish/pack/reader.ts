import fsp, { type FileHandle } from 'node:fs/promises';
import { publicationFiles } from './files.js';
import type { PackFile, PackRef } from './pieces.js';

/** Opens the files of a channel's packs for reading, each once, and closes them together. */
export class PackReader {
  private readonly handles = new Map<string, Promise<FileHandle>>();

  constructor(
    private readonly dataDir: string,
    private readonly channelId: string,
    private readonly format: string,
    private readonly packs: readonly PackRef[],
  ) {}

  /** The open file of a pack (opened on first use). */
  handle(pack: number, file: PackFile): Promise<FileHandle> {
    const key = `${pack}:${file}`;
    let h = this.handles.get(key);
    if (!h) {
      const ref = this.packs.find((p) => p.version === pack);
      if (!ref) return Promise.reject(new Error(`pack ${pack} is not one of the index's packs`));
      h = fsp.open(publicationFiles(this.dataDir, this.channelId, pack, this.format, ref.whole)[file], 'r');
      h.catch(() => {});
      this.handles.set(key, h);
    }
    return h;
  }

  /** Opens every pack's file of one kind now (a reader then keeps them even if pruned). */
  async openAll(file: PackFile): Promise<void> {
    await Promise.all(this.packs.map((p) => this.handle(p.version, file)));
  }

  /** Closes every file opened; safe to call twice. */
  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(all.map((h) => h.then((f) => f.close()).catch(() => {})));
  }
}

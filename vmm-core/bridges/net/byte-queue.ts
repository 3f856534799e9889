// A FIFO of bytes kept as the chunks they arrived in (socket reads), so data is copied once:
// from the host socket's buffer into the frame sent to the guest.

export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Bytes of chunks[0] already consumed. */
  private headOffset = 0;
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Removes `count` bytes from the front. */
  consume(count: number): void {
    count = Math.min(count, this.length);
    this.length -= count;
    while (count > 0) {
      const head = this.chunks[0];
      const available = head.length - this.headOffset;
      if (count < available) {
        this.headOffset += count;
        return;
      }
      count -= available;
      this.chunks.shift();
      this.headOffset = 0;
    }
  }

  /** Copies `count` bytes starting `offset` bytes from the front into target[targetOffset...]. */
  copyOut(offset: number, count: number, target: Uint8Array, targetOffset: number): void {
    let chunkIndex = 0;
    let position = offset + this.headOffset;
    while (chunkIndex < this.chunks.length && position >= this.chunks[chunkIndex].length) {
      position -= this.chunks[chunkIndex].length;
      chunkIndex++;
    }
    while (count > 0 && chunkIndex < this.chunks.length) {
      const chunk = this.chunks[chunkIndex];
      const take = Math.min(count, chunk.length - position);
      target.set(chunk.subarray(position, position + take), targetOffset);
      targetOffset += take;
      count -= take;
      position = 0;
      chunkIndex++;
    }
  }

  clear(): void {
    this.chunks = [];
    this.headOffset = 0;
    this.length = 0;
  }
}

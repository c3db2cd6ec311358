import * as net from 'node:net';
import { type Duplex } from 'node:stream';
import { type Logger } from '../../core/logger.js';
import { PEERTALK_TYPE, PeertalkParser, encodePeertalkHeader } from './peertalk-frame.js';

/** Pipes one channel may carry at once; an app opens a handful (exchange, secure, retries). */
const MAX_PIPES = 64;
/** Bytes Peertalk carries per data frame from the host side (the socket's own chunks are smaller). */
const MAX_FRAME_PAYLOAD = 64 * 1024;

export interface HostEndpoint {
  host: string;
  port: number;
}

/**
 * One Peertalk channel to FlipperKit's port forwarding server in the app: each pipe the phone opens
 * (201) becomes a TCP connection to the host's own listener; bytes pass through untouched both ways
 * (202) and either side closes a pipe (203). Backpressure: a local socket that cannot take more pauses
 * the channel, a channel that cannot take more pauses the local sockets, so neither side's buffers grow
 * past their high-water marks. Resolves `closed` when the channel ends; then every pipe is closed.
 */
export class PeertalkChannel {
  readonly closed: Promise<void>;
  private readonly pipes = new Map<number, net.Socket>();
  /** Pipes whose local socket is full: the channel stays paused until all of them drained. */
  private readonly full = new Set<number>();
  private channelFull = false;
  private ended = false;

  constructor(
    private readonly channel: Duplex,
    private readonly target: HostEndpoint,
    private readonly log: Logger,
  ) {
    const parser = new PeertalkParser({
      onFrame: (type, tag) => this.onFrame(type, tag),
      onPayload: (type, tag, bytes) => {
        if (type === PEERTALK_TYPE.data) this.toHost(tag, bytes);
      },
    });
    this.closed = new Promise((resolve) => {
      channel.on('close', () => {
        this.teardown();
        resolve();
      });
    });
    channel.on('error', (error: Error) => this.log.debug('Peertalk channel error', { error: error.message }));
    channel.on('data', (chunk: Buffer) => {
      try {
        parser.push(chunk);
      } catch (error) {
        this.log.warn(`closing the Peertalk channel: ${(error as Error).message}`);
        this.close();
      }
    });
    channel.on('drain', () => {
      this.channelFull = false;
      for (const pipe of this.pipes.values()) pipe.resume();
    });
    channel.resume();
  }

  get pipeCount(): number {
    return this.pipes.size;
  }

  close(): void {
    this.channel.destroy();
  }

  private onFrame(type: number, tag: number): void {
    if (type === PEERTALK_TYPE.openPipe) this.open(tag);
    else if (type === PEERTALK_TYPE.closePipe) this.closeFromPhone(tag);
    // data frames arrive through onPayload; unknown types are skipped, as Peertalk does.
  }

  private open(tag: number): void {
    this.closeFromPhone(tag); // a reused tag replaces its old pipe
    if (this.pipes.size >= MAX_PIPES) {
      this.log.warn('the app opened too many forwarded connections at once; refusing one', { pipes: this.pipes.size });
      this.send(PEERTALK_TYPE.closePipe, tag);
      return;
    }
    const local = net.connect(this.target.port, this.target.host);
    this.pipes.set(tag, local);
    if (this.channelFull) local.pause();
    local.on('data', (chunk: Buffer) => {
      for (let offset = 0; offset < chunk.length; offset += MAX_FRAME_PAYLOAD) {
        this.send(PEERTALK_TYPE.data, tag, chunk.subarray(offset, offset + MAX_FRAME_PAYLOAD));
      }
    });
    local.on('error', (error: Error) => this.log.debug('forwarded connection error', { tag, error: error.message }));
    local.on('close', () => {
      // Closed here (host side) while the phone still has it: tell the phone.
      if (this.pipes.get(tag) === local) {
        this.pipes.delete(tag);
        this.drained(tag);
        this.send(PEERTALK_TYPE.closePipe, tag);
      }
    });
  }

  private toHost(tag: number, bytes: Buffer): void {
    const local = this.pipes.get(tag);
    if (!local) return; // data for a pipe closed meanwhile
    if (!local.write(bytes) && !this.full.has(tag)) {
      this.full.add(tag);
      this.channel.pause();
      local.once('drain', () => this.drained(tag));
    }
  }

  private drained(tag: number): void {
    if (!this.full.delete(tag)) return;
    if (this.full.size === 0 && !this.ended) this.channel.resume();
  }

  private closeFromPhone(tag: number): void {
    const local = this.pipes.get(tag);
    if (!local) return;
    this.pipes.delete(tag);
    this.drained(tag);
    local.end(); // what was already forwarded still reaches the host
    local.setTimeout(5_000, () => local.destroy());
  }

  private send(type: number, tag: number, payload?: Buffer): void {
    if (this.ended) return;
    const header = encodePeertalkHeader(type, tag, payload?.length ?? 0);
    const ok = this.channel.write(payload ? Buffer.concat([header, payload]) : header);
    if (!ok && !this.channelFull) {
      this.channelFull = true;
      for (const pipe of this.pipes.values()) pipe.pause();
    }
  }

  private teardown(): void {
    this.ended = true;
    for (const local of this.pipes.values()) local.destroy();
    this.pipes.clear();
    this.full.clear();
  }
}

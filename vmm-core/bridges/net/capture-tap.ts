// A network backend that can start and stop a packet capture while the machine runs (the
// extension's "Start packet capture"): frames go straight to the backend until a capture is
// started, then through a PcapCapture on that backend, and straight again after it stops.
// The guest's receiver is re-registered on whichever path is current, so no frame is lost.

import { BridgeError, type NetBackend } from '../types';
import { PcapCapture, type PcapCaptureOptions } from './pcap';

export interface CaptureSummary {
  readonly path: string;
  readonly framesCaptured: number;
}

export class SwitchableCapture implements NetBackend {
  private receiver: ((frame: Uint8Array) => boolean) | null = null;
  private capture: PcapCapture | null = null;

  constructor(private readonly inner: NetBackend) {}

  get description(): string {
    return this.capture?.description ?? this.inner.description;
  }

  /** The file being written, when a capture runs. */
  get capturePath(): string | undefined {
    return this.capture?.path;
  }

  send(frame: Uint8Array): void {
    (this.capture ?? this.inner).send(frame);
  }

  setReceiver(receiver: ((frame: Uint8Array) => boolean) | null): void {
    this.receiver = receiver;
    (this.capture ?? this.inner).setReceiver(receiver);
  }

  /** Starts writing every frame, both directions, to a new pcap file at `path`. */
  startCapture(path: string, options: PcapCaptureOptions = {}): void {
    if (this.capture !== null) throw new BridgeError(`a packet capture is already running (to ${this.capture.path})`);
    const capture = new PcapCapture(this.inner, path, options);
    this.capture = capture;
    if (this.receiver !== null) capture.setReceiver(this.receiver);
  }

  /** Ends the capture (the file is complete); frames go straight to the backend again. */
  stopCapture(): CaptureSummary {
    const capture = this.capture;
    if (capture === null) throw new BridgeError('no packet capture is running');
    capture.stop();
    this.capture = null;
    this.inner.setReceiver(this.receiver);
    if (capture.captureError !== undefined) throw capture.captureError;
    return { path: capture.path, framesCaptured: capture.framesCaptured };
  }

  close(): void {
    this.capture?.stop();
    this.capture = null;
    this.inner.close();
  }
}

/**
 * What an event stream (a WebSocket or an SSE response) sends goes through one StreamWriter:
 * messages queued in one tick leave in one socket write, in the order they were queued, and a
 * client that reads too slowly is closed instead of growing the api's memory without bound.
 */

/** One client connection as the writer sees it. */
export interface StreamSink {
  /** Bytes handed to the connection that the kernel has not taken yet. */
  buffered(): number;
  /** Sends the messages in order, in one write where the transport allows. */
  write(messages: readonly string[]): void;
  /** The client fell behind: close it with the slow-consumer signal (nothing more is written). */
  overflow(unsent: number): void;
}

export class StreamWriter {
  private pending: string[] = [];
  private scheduled = false;
  private stopped = false;

  /**
   * `maxBuffered`: bytes the connection may hold unsent when a message comes. A connection then
   * holds at most that plus one tick's messages, however slow its client: a burst bigger than the
   * bound still reaches a client that reads, since the kernel takes most of it at once.
   */
  constructor(private readonly sink: StreamSink, private readonly maxBuffered: number) {}

  /** Queues a message; it is written at the end of this tick with every other one queued meanwhile. */
  push(message: string): void {
    if (this.stopped) return;
    const unsent = this.sink.buffered();
    if (unsent > this.maxBuffered) {
      // What was written reaches the client in order; from here on nothing is: the client learns
      // of the gap from the close and resumes from its last event id.
      this.stop();
      this.sink.overflow(unsent);
      return;
    }
    this.pending.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(this.flush);
  }

  /** Nothing more is written (the connection closed). */
  stop(): void {
    this.stopped = true;
    this.pending = [];
  }

  /** Writes what is queued now, without waiting for the end of the tick. */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.stopped || this.pending.length === 0) return;
    const messages = this.pending;
    this.pending = [];
    this.sink.write(messages);
  };
}

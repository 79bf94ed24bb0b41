/** ControlBus within one process (embedded mode). */
import type { ControlBus, ControlMessage } from '../../ports/control-bus.js';
import type { Unsubscribe } from '../../ports/event-bus.js';

export class MemoryControlBus implements ControlBus {
  private readonly handlers = new Set<(message: ControlMessage) => void>();

  publish(message: ControlMessage): Promise<void> {
    for (const handler of this.handlers) handler(message);
    return Promise.resolve();
  }

  subscribe(handler: (message: ControlMessage) => void): Promise<Unsubscribe> {
    this.handlers.add(handler);
    return Promise.resolve(() => {
      this.handlers.delete(handler);
      return Promise.resolve();
    });
  }

  close(): Promise<void> {
    this.handlers.clear();
    return Promise.resolve();
  }
}

import type { Unsubscribe } from './event-bus.js';

/** Instructions from the api to every worker of the fleet. */
export type ControlMessage = { type: 'cancel'; executionId: string };

export interface ControlBus {
  publish(message: ControlMessage): Promise<void>;
  /** Every message published by any process after the subscription is in place. */
  subscribe(handler: (message: ControlMessage) => void): Promise<Unsubscribe>;
  close(): Promise<void>;
}

/** The typed Lab client, derived from the contract; hosts supply only a transport. */
import type { CallReply, EventName, EventPayload, LabEvent, MethodInput, MethodName, MethodOutput } from './contract';

/** How a client reaches a host: one call, and a subscription to the event stream. */
export interface LabTransport {
  invoke(name: MethodName, input: unknown): Promise<CallReply<unknown>>;
  subscribe(handler: (event: LabEvent) => void): () => void;
}

/** An error carried in the envelope, rethrown on the client side. */
export class LabClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'LabClientError';
  }
}

export interface LabClient {
  call<K extends MethodName>(name: K, input: MethodInput<K>): Promise<MethodOutput<K>>;
  on<E extends EventName>(name: E, handler: (payload: EventPayload<E>) => void): () => void;
  onAny(handler: (event: LabEvent) => void): () => void;
}

export function createLabClient(transport: LabTransport): LabClient {
  const handlers = new Set<(event: LabEvent) => void>();
  let unsubscribe: (() => void) | null = null;
  const ensure = (): void => {
    if (!unsubscribe) unsubscribe = transport.subscribe((ev) => handlers.forEach((h) => h(ev)));
  };
  return {
    async call(name, input) {
      const reply = await transport.invoke(name, input);
      if (!reply.ok) throw new LabClientError(reply.error.code, reply.error.message, reply.error.details);
      return reply.result as MethodOutput<typeof name>;
    },
    on(name, handler) {
      ensure();
      const h = (ev: LabEvent): void => {
        if (ev.name === name) handler(ev.payload as EventPayload<typeof name>);
      };
      handlers.add(h);
      return () => handlers.delete(h);
    },
    onAny(handler) {
      ensure();
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
}

/** gRPC messages etcd exchanged with its clients, summed over members. */
export interface MessageCounts {
  /** Messages clients sent to etcd: unary requests and stream messages (keepalives, watch requests). */
  readonly toEtcd: number;
  /** Messages etcd sent: unary responses and stream messages (keepalive answers, watch events). */
  readonly fromEtcd: number;
  /** Unary calls handled, by method (`Txn`, `Range`, `LeaseGrant`…). */
  readonly calls: Readonly<Record<string, number>>;
}

const COUNTER = /^grpc_server_(msg_received_total|msg_sent_total|handled_total)\{(.*)\} (\S+)$/;

/**
 * Reads etcd's own gRPC counters (go-grpc-prometheus, on every member's `/metrics`): what the
 * server saw, whatever client library sent it.
 */
export async function readMessageCounts(endpoints: readonly string[]): Promise<MessageCounts> {
  let toEtcd = 0;
  let fromEtcd = 0;
  const calls: Record<string, number> = {};
  for (const endpoint of endpoints) {
    const text = await (await fetch(`${endpoint}/metrics`)).text();
    for (const line of text.split('\n')) {
      const match = COUNTER.exec(line);
      if (!match) continue;
      const [, counter, labels, value] = match;
      const count = Number(value);
      if (counter === 'msg_received_total') toEtcd += count;
      else if (counter === 'msg_sent_total') fromEtcd += count;
      else if (labels.includes('grpc_type="unary"')) {
        const method = /grpc_method="([^"]+)"/.exec(labels)?.[1] ?? '?';
        calls[method] = (calls[method] ?? 0) + count;
      }
    }
  }
  return { toEtcd, fromEtcd, calls };
}

/** What happened between two readings. */
export function messagesBetween(before: MessageCounts, after: MessageCounts): MessageCounts {
  const calls: Record<string, number> = {};
  for (const [method, count] of Object.entries(after.calls)) {
    const delta = count - (before.calls[method] ?? 0);
    if (delta > 0) calls[method] = delta;
  }
  return {
    toEtcd: after.toEtcd - before.toEtcd,
    fromEtcd: after.fromEtcd - before.fromEtcd,
    calls,
  };
}

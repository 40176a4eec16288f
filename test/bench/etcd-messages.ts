/** gRPC messages etcd exchanged with its clients, summed over members. */
export interface MessageCounts {
  /** Messages clients sent to etcd: unary requests and stream messages (keepalives, watch requests). */
  readonly toEtcd: number;
  /** Messages etcd sent: unary responses and stream messages (keepalive answers, watch events). */
  readonly fromEtcd: number;
  /** Unary calls handled, by method (`Txn`, `Range`, `LeaseGrant`…). */
  readonly calls: Readonly<Record<string, number>>;
  /** Stream messages clients sent, by method (`Watch`: creates and cancels; `LeaseKeepAlive`). */
  readonly streamed: Readonly<Record<string, number>>;
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
  const streamed: Record<string, number> = {};
  for (const endpoint of endpoints) {
    const text = await (await fetch(`${endpoint}/metrics`)).text();
    for (const line of text.split('\n')) {
      const match = COUNTER.exec(line);
      if (!match) continue;
      const [, counter, labels, value] = match;
      const count = Number(value);
      const method = /grpc_method="([^"]+)"/.exec(labels)?.[1] ?? '?';
      if (counter === 'msg_received_total') {
        toEtcd += count;
        if (labels.includes('grpc_type="bidi_stream"')) {
          streamed[method] = (streamed[method] ?? 0) + count;
        }
      } else if (counter === 'msg_sent_total') fromEtcd += count;
      else if (labels.includes('grpc_type="unary"')) {
        calls[method] = (calls[method] ?? 0) + count;
      }
    }
  }
  return { toEtcd, fromEtcd, calls, streamed };
}

/** What happened between two readings. */
export function messagesBetween(before: MessageCounts, after: MessageCounts): MessageCounts {
  return {
    toEtcd: after.toEtcd - before.toEtcd,
    fromEtcd: after.fromEtcd - before.fromEtcd,
    calls: countsBetween(before.calls, after.calls),
    streamed: countsBetween(before.streamed, after.streamed),
  };
}

/** The counts that grew from `before` to `after`, by how much. */
function countsBetween(
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
): Record<string, number> {
  const grown: Record<string, number> = {};
  for (const [method, count] of Object.entries(after)) {
    const delta = count - (before[method] ?? 0);
    if (delta > 0) grown[method] = delta;
  }
  return grown;
}

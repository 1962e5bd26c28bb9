// JSON-RPC 2.0 over one WebSocket to the node that served the page.
//
// Theory of operation: one socket carries requests (matched to replies by id)
// and subscription notifications (routed by subscription id). The set of
// methods the node serves is read once per connection from `rpc_methods`, so
// a page can ask `has(name)` and show "not available on this node" instead of
// failing when a pallet is missing. When the socket closes, pending calls fail,
// the client reconnects with a growing delay and re-opens every subscription.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Params = Json[] | { [key: string]: Json };

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: Json,
  ) {
    super(data === undefined ? message : `${message}: ${typeof data === "string" ? data : JSON.stringify(data)}`);
  }
}

/** The node does not serve this method (its pallet is not in this runtime). */
export class NotAvailable extends Error {
  constructor(readonly method: string) {
    super(`${method} is not available on this node`);
  }
}

export type ConnectionState = "connecting" | "open" | "closed";

interface Pending {
  resolve: (value: Json) => void;
  reject: (error: Error) => void;
}

interface Subscription {
  method: string;
  unsubscribe: string;
  params: Params;
  onData: (value: Json) => void;
  id: string | null;
}

const CALL_TIMEOUT_MS = 20_000;
/** Calls per JSON-RPC batch: the node's default `rpc.max_batch` is 100. */
export const MAX_BATCH = 100;

export class Rpc {
  private socket: WebSocket | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private subscriptions = new Set<Subscription>();
  private byServerId = new Map<string, Subscription>();
  private served: Set<string> | null = null;
  private ready: Promise<void> | null = null;
  private retryMs = 500;
  private listeners = new Set<(state: ConnectionState) => void>();
  state: ConnectionState = "connecting";

  constructor(readonly url: string) {}

  onState(listener: (state: ConnectionState) => void): void {
    this.listeners.add(listener);
    listener(this.state);
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    for (const listener of this.listeners) listener(state);
  }

  /** Resolves once the socket is open and the method list is known. */
  connect(): Promise<void> {
    if (this.ready === null) this.ready = this.open();
    return this.ready;
  }

  private open(): Promise<void> {
    this.setState("connecting");
    return new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(this.url);
      this.socket = socket;
      socket.onmessage = (event) => this.route(String(event.data));
      socket.onopen = () => {
        this.retryMs = 500;
        this.send<{ methods: string[] }>("rpc_methods", [])
          .then((answer) => {
            this.served = new Set(answer.methods);
            this.setState("open");
            resolve();
            this.resubscribe();
          })
          .catch(reject);
      };
      socket.onclose = () => {
        const wasOpen = this.state === "open";
        this.socket = null;
        this.ready = null;
        for (const call of this.pending.values()) call.reject(new Error("connection to the node lost"));
        this.pending.clear();
        this.byServerId.clear();
        for (const sub of this.subscriptions) sub.id = null;
        this.setState("closed");
        if (!wasOpen) reject(new Error(`cannot connect to ${this.url}`));
        window.setTimeout(() => void this.connect().catch(() => undefined), this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, 10_000);
      };
    });
  }

  has(method: string): boolean {
    return this.served !== null && this.served.has(method);
  }

  /** Call a method; rejects with NotAvailable if the node does not serve it. */
  async call<T = Json>(method: string, params: Params = []): Promise<T> {
    await this.connect();
    if (!this.has(method)) throw new NotAvailable(method);
    return this.send<T>(method, params);
  }

  /** Like call, but null when the method is not served (optional pallets). */
  async optional<T = Json>(method: string, params: Params = []): Promise<T | null> {
    await this.connect();
    return this.has(method) ? this.send<T>(method, params) : null;
  }

  /**
   * Several calls in JSON-RPC batches; each entry is a result or an Error.
   * Batches hold at most MAX_BATCH calls (the node refuses a larger one whole),
   * sent one after the other.
   */
  async batch<T = Json>(calls: Array<[string, Params]>): Promise<Array<T | Error>> {
    const out: Array<T | Error> = [];
    for (let start = 0; start < calls.length; start += MAX_BATCH) {
      out.push(...(await this.batchOnce<T>(calls.slice(start, start + MAX_BATCH))));
    }
    return out;
  }

  private async batchOnce<T>(calls: Array<[string, Params]>): Promise<Array<T | Error>> {
    if (calls.length === 0) return [];
    await this.connect();
    const ids: number[] = [];
    const waits = calls.map(([method]) => {
      const id = this.nextId++;
      ids.push(id);
      return new Promise<Json>((resolve, reject) => {
        if (!this.has(method)) reject(new NotAvailable(method));
        else this.pending.set(id, { resolve, reject });
      });
    });
    const body = calls
      .map(([method, params], i) => ({ jsonrpc: "2.0", id: ids[i], method, params }))
      .filter((request) => this.has(request.method));
    if (body.length > 0) this.transmit(body);
    return Promise.all(
      waits.map((wait) =>
        wait.then(
          (value) => value as T,
          (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
        ),
      ),
    );
  }

  /** Subscribe; returns a function that unsubscribes. Survives reconnections. */
  async subscribe(
    method: string,
    unsubscribe: string,
    params: Params,
    onData: (value: Json) => void,
  ): Promise<() => void> {
    const sub: Subscription = { method, unsubscribe, params, onData, id: null };
    this.subscriptions.add(sub);
    await this.connect();
    if (sub.id === null) await this.openSubscription(sub);
    return () => {
      this.subscriptions.delete(sub);
      if (sub.id !== null) {
        this.byServerId.delete(sub.id);
        void this.send(sub.unsubscribe, [sub.id]).catch(() => undefined);
      }
    };
  }

  private async openSubscription(sub: Subscription): Promise<void> {
    if (!this.has(sub.method)) throw new NotAvailable(sub.method);
    const id = await this.send<string>(sub.method, sub.params);
    sub.id = String(id);
    this.byServerId.set(sub.id, sub);
  }

  private resubscribe(): void {
    for (const sub of this.subscriptions) {
      if (sub.id === null) void this.openSubscription(sub).catch(() => undefined);
    }
  }

  private send<T>(method: string, params: Params): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer within ${CALL_TIMEOUT_MS / 1000} s`));
      }, CALL_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (value) => {
          window.clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          window.clearTimeout(timer);
          reject(error);
        },
      });
      this.transmit({ jsonrpc: "2.0", id, method, params });
    });
  }

  private transmit(body: Json | object): void {
    if (this.socket === null || this.socket.readyState !== WebSocket.OPEN) {
      throw new Error("not connected to the node");
    }
    this.socket.send(JSON.stringify(body));
  }

  private route(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return; // the node only sends JSON; ignore anything else
    }
    for (const item of Array.isArray(message) ? message : [message]) this.routeOne(item);
  }

  private routeOne(item: unknown): void {
    if (typeof item !== "object" || item === null) return;
    const reply = item as {
      id?: number;
      result?: Json;
      error?: { code: number; message: string; data?: Json };
      method?: string;
      params?: { subscription: string; result: Json };
    };
    if (reply.method !== undefined && reply.params !== undefined) {
      this.byServerId.get(String(reply.params.subscription))?.onData(reply.params.result);
      return;
    }
    if (typeof reply.id !== "number") return;
    const call = this.pending.get(reply.id);
    if (call === undefined) return;
    this.pending.delete(reply.id);
    if (reply.error !== undefined) call.reject(new RpcError(reply.error.code, reply.error.message, reply.error.data));
    else call.resolve(reply.result ?? null);
  }
}

/** Query parameters read at block `at` (a hash: the state after it) when known, else at the best block. */
export function withAt(params: Json[], at: string | null | undefined): Json[] {
  return at ? [...params, at] : params;
}

/** The node that served this page, or the one named by `?node=ws://host:port`. */
export function nodeUrl(location: Location): string {
  const override = new URLSearchParams(location.search).get("node");
  if (override !== null && /^wss?:\/\//.test(override)) return override;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/`;
}

// Per-tenant values read often and changed rarely (a tenant's SMTP accounts): kept briefly,
// dropped at once when this process changes them. Other instances see a change within `ttlMs`.
export class TenantCache<T> {
  readonly #entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly load: (tenantId: string) => Promise<T>,
    private readonly maxTenants = 10_000,
  ) {}

  get(tenantId: string): Promise<T> {
    const hit = this.#entries.get(tenantId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.load(tenantId);
    if (this.#entries.size >= this.maxTenants) this.#entries.clear();
    this.#entries.set(tenantId, { at: Date.now(), value });
    value.catch(() => this.#entries.delete(tenantId));
    return value;
  }

  invalidate(tenantId: string): void {
    this.#entries.delete(tenantId);
  }
}

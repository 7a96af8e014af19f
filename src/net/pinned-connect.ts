// Connecting to the addresses a check let through, and to no other: a `lookup` for node:net (and
// node:http/https) that answers with those addresses instead of asking DNS again. The host name
// itself is kept for everything else, so a TLS upgrade on the socket (nodemailer's STARTTLS or
// implicit TLS) still sends it as SNI and verifies the certificate against it (checked under
// Bun 1.4.5: a certificate for another name is refused). Webhooks use fetch at the IP instead.
import type { LookupAddress, LookupOptions } from "node:dns";
import { isIP, type LookupFunction, connect as netConnect, type Socket } from "node:net";
import type { CheckedAddress } from "./address-guard";

/** A lookup that only ever answers with `addresses` (those of the family asked for, when one is). */
export function pinnedLookup(addresses: CheckedAddress[]): LookupFunction {
  return (_hostname: string, options: LookupOptions, callback) => {
    const family = options?.family === 4 || options?.family === 6 ? options.family : undefined;
    const usable = family ? addresses.filter((a) => a.family === family) : addresses;
    if (usable.length === 0) {
      const err = Object.assign(new Error(`no checked IPv${family} address`), { code: "ENOTFOUND" });
      return process.nextTick(() => callback(err, "", 0));
    }
    if (options?.all) {
      const all: LookupAddress[] = usable.map((a) => ({ address: a.address, family: a.family }));
      return process.nextTick(() => callback(null, all));
    }
    const first = usable[0]!;
    process.nextTick(() => callback(null, first.address, first.family));
  };
}

/** What a failed connect reports: node's error code and message, as nodemailer would. */
export class ConnectError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * A TCP connection to `host:port` through the checked addresses (tried in turn, both families
 * interleaved, as net's autoSelectFamily does), connected within `timeoutMs`.
 */
export function connectPinned(
  host: string,
  port: number,
  addresses: CheckedAddress[],
  timeoutMs: number,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const literal = isIP(host) !== 0;
    const socket = netConnect({
      host,
      port,
      ...(literal ? {} : { lookup: pinnedLookup(addresses), autoSelectFamily: addresses.length > 1 }),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new ConnectError(`Connection timeout: no connection to ${host}:${port} within ${timeoutMs} ms`, "ETIMEDOUT"),
      );
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      // The caller attaches its own handlers a tick later; until then an error must not go unheard.
      socket.removeAllListeners("error");
      socket.on("error", () => {});
      resolve(socket);
    });
    socket.once("error", (err: Error & { code?: string }) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ConnectError(err.message, err.code ?? "ECONNECTION"));
    });
  });
}

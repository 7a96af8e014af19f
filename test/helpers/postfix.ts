// A real MTA for the suites that need one: a private Postfix instance (the Debian package) that
// behaves like the relays Posthorn sends through — it answers 250 to every RCPT for its test
// domain and reports the real outcome later, as an RFC 3464 DSN mailed to the envelope sender.
// Unknown users of `localDomain` fail in local delivery (5.1.1); mail for `deferDomain` is
// deferred for ever, so a "delayed" DSN follows after `delay_warning_time`; mail for each bounce
// domain goes to `smtp:[127.0.0.1]:PORT`, the test's own listener. Nothing is relayed anywhere
// else. Own config, queue and data directories under a temp dir; stopped by the pid it started.
import { execFileSync } from "node:child_process";
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const POSTFIX = "/usr/sbin/postfix";
const HOST = "127.0.0.1";
/** How long a test may wait for `postfix start` before the instance is declared broken. */
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

/** The Debian package installed the way CI does it; see `available()` for what else it needs. */
export const INSTALL_LINES = [
  "apt-get update",
  'echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections',
  "DEBIAN_FRONTEND=noninteractive apt-get install -y postfix",
];

export type PostfixAvailability = { ok: true } | { ok: false; reason: string };

/** Whether a private Postfix can run here, and if not, why (for a suite to report, not to skip). */
export function available(): PostfixAvailability {
  if (!existsSync(POSTFIX))
    return { ok: false, reason: `${POSTFIX} not found; install it: ${INSTALL_LINES.join(" && ")}` };
  if (process.getuid?.() !== 0) return { ok: false, reason: "Postfix's master must be started as root" };
  try {
    execFileSync("id", ["postfix"], { stdio: "ignore" });
  } catch {
    return { ok: false, reason: "the postfix user does not exist (the Debian package creates it)" };
  }
  try {
    accessSync(tmpdir(), constants.W_OK);
  } catch {
    return { ok: false, reason: `${tmpdir()} is not writable` };
  }
  return { ok: true };
}

export interface PostfixOptions {
  /** Bounce domain → port of the listener on 127.0.0.1 its mail (the DSNs) is delivered to. */
  routes: Record<string, number>;
  /** Seconds before a "delayed" DSN for mail still queued (Postfix's delay_warning_time). */
  delayWarningSeconds?: number;
}

export interface PostfixRelay {
  host: string;
  /** Where to submit mail (plain SMTP, no AUTH, open to 127.0.0.1 only). */
  port: number;
  /** Every RCPT accepted, every user fails in local delivery after the 250: a 5.1.1 DSN. */
  localDomain: string;
  /** Mail for this domain is deferred on every attempt: a "delayed" DSN, never a failure in a test's time. */
  deferDomain: string;
  /** The instance's directory (config, queue, maillog). */
  dir: string;
  /** Postfix's own log so far (errors only reach this file: Postfix prints nothing without a tty). */
  log(): string;
  /** Stops this instance (its master pid only) and removes its directory. */
  stop(): Promise<void>;
}

const LOCAL_DOMAIN = "users.relay.test";
const DEFER_DOMAIN = "defer.relay.test";

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

function mainCf(dir: string, opts: PostfixOptions): string {
  const routes = Object.entries(opts.routes).map(([domain, port]) => `${domain}=smtp:[${HOST}]:${port}`);
  routes.push(`${DEFER_DOMAIN}=retry:4.4.1 destination deferred by the test relay`);
  return `${[
    "compatibility_level = 3.6",
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    "mail_owner = postfix",
    "setgid_group = postdrop",
    "myhostname = relay.test",
    "mydomain = relay.test",
    "myorigin = $myhostname",
    `mydestination = ${LOCAL_DOMAIN}`,
    "inet_interfaces = 127.0.0.1",
    "inet_protocols = ipv4",
    "mynetworks = 127.0.0.0/8",
    "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
    // Accept every RCPT: unknown users fail later, in local delivery, as a provider's relay does.
    "local_recipient_maps =",
    // Or smtpd itself refuses recipients whose transport is error/retry: the deferral must come later.
    "smtpd_reject_unlisted_recipient = no",
    "alias_maps =",
    // Existing system users (nobody, root) fail too: nothing is ever written to /var/mail.
    "mailbox_transport = error:5.1.1 mailbox unavailable on the test relay",
    "forward_path =",
    "alias_database =",
    `transport_maps = inline:{ ${routes.map((r) => `{ ${r} }`).join(", ")} }`,
    "default_transport = error:5.7.1 the test relay relays nothing",
    "relay_transport = error:5.7.1 the test relay relays nothing",
    "smtp_dns_support_level = disabled",
    "smtp_tls_security_level = none",
    "smtpd_tls_security_level = none",
    "queue_run_delay = 1s",
    "minimal_backoff_time = 1s",
    "maximal_backoff_time = 2s",
    `delay_warning_time = ${opts.delayWarningSeconds ?? 5}s`,
    "notify_classes =",
    "biff = no",
    `maillog_file = ${dir}/maillog`,
    `maillog_file_prefixes = ${dir}`,
  ].join("\n")}\n`;
}

function masterCf(port: number): string {
  // No chroot anywhere: the instance lives in a temp dir, not in /var/spool/postfix.
  return `${[
    `${HOST}:${port} inet n - n - - smtpd`,
    "pickup unix n - n 60 1 pickup",
    "cleanup unix n - n - 0 cleanup",
    "qmgr unix n - n 300 1 qmgr",
    "rewrite unix - - n - - trivial-rewrite",
    "bounce unix - - n - 0 bounce",
    "defer unix - - n - 0 bounce",
    "trace unix - - n - 0 bounce",
    "verify unix - - n - 1 verify",
    "flush unix n - n 1000? 0 flush",
    "proxymap unix - - n - - proxymap",
    "smtp unix - - n - - smtp",
    "relay unix - - n - - smtp",
    "showq unix n - n - - showq",
    "error unix - - n - - error",
    "retry unix - - n - - error",
    "discard unix - - n - - discard",
    "local unix - n n - - local",
    "anvil unix - - n - 1 anvil",
    "scache unix - - n - 1 scache",
    "postlog unix-dgram n - n - 1 postlogd",
  ].join("\n")}\n`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid(dir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(dir, "queue", "pid", "master.pid"), "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a private Postfix; throws with `available()`'s reason or Postfix's log when it cannot. */
export async function start(opts: PostfixOptions): Promise<PostfixRelay> {
  const availability = available();
  if (!availability.ok) throw new Error(`Postfix cannot run here: ${availability.reason}`);
  const dir = mkdtempSync(join(tmpdir(), "posthorn-postfix-"));
  // Postfix's daemons run as the postfix user and must traverse the instance's directories.
  chmodSync(dir, 0o755);
  const etc = join(dir, "etc");
  mkdirSync(etc, { mode: 0o755 });
  // The queue is root's (post-install makes its subdirectories); the data directory is postfix's.
  mkdirSync(join(dir, "queue"), { mode: 0o755 });
  const port = await freePort();
  writeFileSync(join(etc, "main.cf"), mainCf(dir, opts));
  writeFileSync(join(etc, "master.cf"), masterCf(port));
  const log = () => (existsSync(join(dir, "maillog")) ? readFileSync(join(dir, "maillog"), "utf8") : "");
  const postfix = (command: string) => execFileSync(POSTFIX, ["-c", etc, command], { stdio: "pipe" });

  try {
    postfix("check");
    postfix("start");
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
    const why = `postfix failed to start: ${stderr}\n${log()}`;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(why);
  }

  const deadline = Date.now() + START_TIMEOUT_MS;
  let pid = readPid(dir);
  while (!(pid && (await acceptsConnections(port))) && Date.now() < deadline) {
    await sleep(50);
    pid ??= readPid(dir);
  }
  if (!pid || !(await acceptsConnections(port))) {
    if (pid && isRunning(pid)) process.kill(pid, "SIGTERM");
    const why = `postfix did not start within ${START_TIMEOUT_MS} ms:\n${log()}`;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(why);
  }
  const masterPid = pid;

  return {
    host: HOST,
    port,
    localDomain: LOCAL_DOMAIN,
    deferDomain: DEFER_DOMAIN,
    dir,
    log,
    async stop() {
      // SIGTERM to the master we started: it stops its own children, nothing else is touched.
      if (isRunning(masterPid)) process.kill(masterPid, "SIGTERM");
      const until = Date.now() + STOP_TIMEOUT_MS;
      while (isRunning(masterPid) && Date.now() < until) await sleep(50);
      if (isRunning(masterPid)) process.kill(masterPid, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function acceptsConnections(port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: HOST, port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

// A bare SMTP client for the specs that need what a well-behaved library would not send: DATA
// without a SIZE declaration, bytes that are no MIME, a connection held open.
import { connect, type Socket } from "node:net";

export interface SmtpDialog {
  /** Sends one command line (or raw bytes, when `raw`) and resolves with the reply's last line. */
  send(line: string): Promise<string>;
  sendRaw(bytes: string | Uint8Array): Promise<string>;
  greeting: string;
  /** Resolves when the server closes the connection. */
  closed: Promise<void>;
  close(): void;
}

export async function openDialog(port: number): Promise<SmtpDialog> {
  const socket: Socket = connect({ host: "127.0.0.1", port });
  let buffer = "";
  const waiting: ((reply: string) => void)[] = [];
  const replies: string[] = [];
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf("\r\n"); nl >= 0; nl = buffer.indexOf("\r\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 2);
      // A multi-line reply ends at the line whose code is followed by a space.
      if (/^\d{3}-/.test(line)) continue;
      const next = waiting.shift();
      if (next) next(line);
      else replies.push(line);
    }
  });
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.on("error", () => {});
  const reply = () =>
    new Promise<string>((resolve) => {
      const ready = replies.shift();
      if (ready !== undefined) resolve(ready);
      else waiting.push(resolve);
    });
  const greeting = await reply();
  return {
    greeting,
    closed,
    send(line) {
      socket.write(`${line}\r\n`);
      return reply();
    },
    sendRaw(bytes) {
      socket.write(bytes);
      return reply();
    },
    close: () => socket.destroy(),
  };
}

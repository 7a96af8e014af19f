// Reads what an SMTP server received the way a mail client would: the MIME tree split into its
// leaf parts, each with its headers and its body decoded (base64 or quoted-printable), so a test
// can say "the html part says …" or "the attachment is byte-identical".

export interface MimePart {
  /** Header names lower-cased; folded lines joined. */
  headers: Record<string, string>;
  contentType: string;
  filename: string | undefined;
  body: Buffer;
  text: string;
}

function splitHeaders(raw: string): { headers: Record<string, string>; body: string } {
  const end = raw.indexOf("\r\n\r\n");
  const head = end === -1 ? raw : raw.slice(0, end);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: end === -1 ? "" : raw.slice(end + 4) };
}

function decodeBody(body: string, encoding: string | undefined): Buffer {
  switch (encoding?.toLowerCase()) {
    case "base64":
      return Buffer.from(body.replace(/\s+/g, ""), "base64");
    case "quoted-printable":
      return Buffer.from(
        body
          .replace(/=\r\n/g, "")
          .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
        "latin1",
      );
    default:
      return Buffer.from(body, "latin1");
  }
}

const param = (header: string | undefined, name: string) =>
  header ? new RegExp(`${name}\\*?="?([^";]+)"?`, "i").exec(header)?.[1] : undefined;

/** Every leaf part of a raw message (latin1 string of its bytes), depth first. */
export function mimeParts(raw: string): MimePart[] {
  const { headers, body } = splitHeaders(raw);
  const contentType = headers["content-type"] ?? "text/plain";
  const boundary = param(contentType, "boundary");
  if (/^multipart\//i.test(contentType) && boundary) {
    const sections = body.split(`--${boundary}`).slice(1);
    return sections
      .filter((s) => !s.startsWith("--"))
      .flatMap((s) => mimeParts(s.replace(/^\r\n/, "").replace(/\r\n$/, "")));
  }
  const decoded = decodeBody(body, headers["content-transfer-encoding"]);
  return [
    {
      headers,
      contentType: contentType.split(";")[0]!.trim().toLowerCase(),
      filename: param(headers["content-disposition"], "filename") ?? param(contentType, "name"),
      body: decoded,
      text: decoded.toString("utf8"),
    },
  ];
}

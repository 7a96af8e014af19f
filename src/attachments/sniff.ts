// What a file is, decided from its bytes, never from its name or the type the client claims:
// an allowlist of common document, image, archive and media types. Executables (Windows PE,
// ELF, Mach-O, scripts) and files named as executables are refused whatever else they are,
// because mail clients open attachments by their name.
import { fileTypeFromBuffer } from "file-type";

/** Binary types recognised by their signature (file-type's MIME names). */
const ALLOWED_BINARY = new Set([
  "application/pdf",
  "application/rtf",
  "application/epub+zip",
  "application/postscript",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  "application/vnd.oasis.opendocument.text",
  "application/vnd.oasis.opendocument.spreadsheet",
  "application/vnd.oasis.opendocument.presentation",
  "application/vnd.apple.pages",
  "application/vnd.apple.numbers",
  "application/vnd.apple.keynote",
  "application/zip",
  "application/gzip",
  "application/x-7z-compressed",
  "application/x-bzip2",
  "application/x-xz",
  "application/x-tar",
  "application/x-rar-compressed",
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/bmp",
  "image/tiff",
  "image/heic",
  "image/heif",
  "image/avif",
  "audio/mpeg",
  "audio/mp4",
  "audio/x-m4a",
  "audio/wav",
  "audio/ogg",
  "video/mp4",
  "video/quicktime",
  "video/webm",
  "text/calendar",
  "text/vcard",
  "application/xml",
]);

/** file-type's names for programs and installers, refused with a plain reason. */
const EXECUTABLE_TYPES: Record<string, string> = {
  "application/x-msdownload": "a Windows executable",
  "application/x-elf": "an ELF executable",
  "application/x-mach-binary": "a Mach-O executable",
  "application/java-vm": "a Java class file",
  "application/java-archive": "a Java archive",
  "application/vnd.android.package-archive": "an Android package",
  "application/wasm": "a WebAssembly module",
  "application/x-ms-shortcut": "a Windows shortcut",
  "application/x-deb": "a Debian package",
  "application/x-rpm": "an RPM package",
  "application/x-apple-diskimage": "a disk image",
  "application/x-iso9660-image": "a disk image",
  "application/vnd.ms-cab-compressed": "a Windows cabinet",
  "application/x-google-chrome-extension": "a browser extension",
  "application/x-xpinstall": "a browser extension",
  "application/x-shockwave-flash": "a Flash program",
};

/** Legacy Office files share one container format (CFB) with installers (.msi): trusted by name only for these. */
const CFB_BY_EXTENSION: Record<string, string> = {
  doc: "application/msword",
  xls: "application/vnd.ms-excel",
  ppt: "application/vnd.ms-powerpoint",
};

/** Plain-text files have no signature: accepted as UTF-8 under one of these names. */
const TEXT_BY_EXTENSION: Record<string, string> = {
  txt: "text/plain",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
  md: "text/markdown",
  ics: "text/calendar",
  vcf: "text/vcard",
  json: "application/json",
  xml: "application/xml",
  log: "text/plain",
};

/** Names a mail client would run, or open in a script host. */
const EXECUTABLE_EXTENSIONS = new Set(
  (
    "exe com bat cmd scr pif msi msp msc dll cpl sys drv ocx js jse vbs vbe wsf wsh ws ps1 psm1 psd1 sh bash zsh " +
    "csh ksh command app dmg pkg deb rpm apk jar class lnk url hta reg inf scf gadget vb jnlp appx msix " +
    "application docm xlsm pptm dotm xltm potm ppsm sldm iso img vhd vhdx"
  ).split(" "),
);

export type Sniffed = { ok: true; contentType: string } | { ok: false; reason: string };

export const extensionOf = (filename: string) => /\.([A-Za-z0-9]{1,10})$/.exec(filename)?.[1]?.toLowerCase();

/** Signatures checked even where file-type would say nothing (scripts) or something vaguer. */
function executableSignature(bytes: Uint8Array): string | undefined {
  const [a, b, c, d] = bytes;
  if (a === 0x4d && b === 0x5a) return "a Windows executable";
  if (a === 0x7f && b === 0x45 && c === 0x4c && d === 0x46) return "an ELF executable";
  const magic = ((a ?? 0) << 24) | ((b ?? 0) << 16) | ((c ?? 0) << 8) | (d ?? 0);
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe].includes(magic >>> 0)) return "a Mach-O executable";
  if (a === 0x23 && b === 0x21) return "a script (#!)";
  return undefined;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function isPlainText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** How many first bytes file-type reads to recognise most types (its own sample size). */
export const SNIFF_HEAD_BYTES = 4100;

/** Why a file is refused by its name alone, before any of its bytes: a program's name. */
export function refusalByName(filename: string): string | undefined {
  const ext = extensionOf(filename);
  if (ext && EXECUTABLE_EXTENSIONS.has(ext)) {
    return `is named as a program or macro file (.${ext}), which is never accepted`;
  }
  return undefined;
}

const executableReason = (what: string) => `is ${what}; executables are never accepted`;

/**
 * Why a file is refused by its first bytes (SNIFF_HEAD_BYTES of them), so an upload can stop
 * keeping an executable at once; the whole file still goes through sniffAttachment.
 */
export async function refusalByHead(head: Uint8Array): Promise<string | undefined> {
  const signature = executableSignature(head);
  if (signature) return executableReason(signature);
  const executable = EXECUTABLE_TYPES[(await fileTypeFromBuffer(head))?.mime ?? ""];
  return executable ? executableReason(executable) : undefined;
}

/** Decides the attachment's MIME type from its bytes, or why it is refused. */
export async function sniffAttachment(bytes: Uint8Array, filename: string): Promise<Sniffed> {
  const ext = extensionOf(filename);
  const byName = refusalByName(filename);
  if (byName) return { ok: false, reason: byName };
  const signature = executableSignature(bytes);
  if (signature) return { ok: false, reason: executableReason(signature) };

  const detected = await fileTypeFromBuffer(bytes);
  if (detected) {
    const executable = EXECUTABLE_TYPES[detected.mime];
    if (executable) return { ok: false, reason: executableReason(executable) };
    if (detected.mime === "application/x-cfb") {
      const legacy = ext ? CFB_BY_EXTENSION[ext] : undefined;
      if (legacy) return { ok: true, contentType: legacy };
      return { ok: false, reason: "is a compound file that is not named .doc, .xls or .ppt (installers use it too)" };
    }
    if (ALLOWED_BINARY.has(detected.mime)) return { ok: true, contentType: detected.mime };
    return { ok: false, reason: `is ${detected.mime}, which is not among the accepted types` };
  }

  if (isPlainText(bytes)) {
    const text = ext ? TEXT_BY_EXTENSION[ext] : undefined;
    if (text) return { ok: true, contentType: text };
    return {
      ok: false,
      reason: `is text named ${ext ? `.${ext}` : "without an extension"}; text is accepted as .${Object.keys(TEXT_BY_EXTENSION).join(", .")}`,
    };
  }
  return { ok: false, reason: "is of a type that could not be recognised from its content" };
}

/** The extension a file of this type is named with, for a file that came without a usable name. */
export function extensionFor(contentType: string): string {
  const text = Object.entries(TEXT_BY_EXTENSION).find(([, t]) => t === contentType)?.[0];
  if (text) return text;
  const legacy = Object.entries(CFB_BY_EXTENSION).find(([, t]) => t === contentType)?.[0];
  if (legacy) return legacy;
  const sub = contentType.split("/")[1] ?? "bin";
  const known: Record<string, string> = {
    jpeg: "jpg",
    "vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "x-7z-compressed": "7z",
    gzip: "gz",
  };
  return known[sub] ?? (/^[a-z0-9]{1,5}$/.test(sub) ? sub : "bin");
}

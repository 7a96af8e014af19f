// The files that show the settings table, with the table as src/config.ts declares it put
// between their `<!-- settings:all -->` / `<!-- settings:common -->` markers.
import { settingsTable } from "../../src/config";

const FILES = { "README.md": "common", "docs/configuration.md": "all" } as const;

/** [file, its text with the current tables] for each file that shows one. */
export function settingsDocs(read: (file: string) => string): [string, string][] {
  return Object.entries(FILES).map(([file, which]) => {
    const marker = new RegExp(`(<!-- settings:${which} -->\\n)[\\s\\S]*?(<!-- /settings:${which} -->)`);
    const text = read(file);
    if (!marker.test(text))
      throw new Error(`${file} has no <!-- settings:${which} --> … <!-- /settings:${which} --> block`);
    return [file, text.replace(marker, (_m, open, close) => `${open}${settingsTable(which)}\n${close}`)];
  });
}

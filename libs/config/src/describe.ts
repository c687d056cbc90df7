import { CONFIG_ENV, CONFIG_FLAG, KEYS, type KeyDef } from './keys';

/** The --help text: every key with its flag, environment variable and default. */
export function describeConfig(): string {
  const lines = [
    'Settings (precedence, lowest to highest: defaults < JSON file < environment < flags):',
    '',
    `  ${CONFIG_FLAG} <path>  (env ${CONFIG_ENV})`,
    '      JSON file with the keys below (limits nested under "limits"); unknown keys are errors',
    '',
  ];
  for (const def of KEYS) lines.push(...describeKey(def));
  return lines.join('\n');
}

function describeKey(def: KeyDef): string[] {
  const flag = def.kind === 'bool' ? `${def.flag} / --no-${def.flag.slice(2)}` : `${def.flag} <${def.kind === 'members' ? 'list' : def.kind === 'int' ? 'n' : 'value'}>`;
  const formerly = def.formerly ? `; formerly ${def.formerly.flag}, ${def.formerly.env}, ${def.formerly.key} (still read)` : '';
  return [`  ${flag}  (env ${def.env}, key ${def.key})`, `      ${def.help}; default: ${defaultText(def)}${formerly}`];
}

function defaultText(def: KeyDef): string {
  if (def.derivedDefault) return def.derivedDefault;
  if (def.defaultValue === undefined) return 'required';
  if (typeof def.defaultValue === 'number' && /Bytes/.test(def.key)) return `${def.defaultValue} (${bytesText(def.defaultValue)})`;
  return typeof def.defaultValue === 'string' ? def.defaultValue : JSON.stringify(def.defaultValue);
}

function bytesText(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

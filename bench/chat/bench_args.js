// Command-line and environment knobs shared by the chat bench drivers (chaos.js, bus_fanin.js):
// arg("name", default) reads --name VALUE, num("NAME", default) a number >= 0 from the environment.
"use strict";

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

function num(name, def) {
  const v = Number(process.env[name] ?? def);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a number >= 0`);
  return v;
}

module.exports = { arg, num };

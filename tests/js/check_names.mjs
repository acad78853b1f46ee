// Reads {"names": [...]} on stdin, writes the browser's verdict for each: the name it
// would send (trimmed, NFC) or null (client/static/names.js). Run by tests/test_names.py.
import { playerName } from "../../client/static/names.js";

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const { names } = JSON.parse(input);
  process.stdout.write(JSON.stringify(names.map(playerName)));
});

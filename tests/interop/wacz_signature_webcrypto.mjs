// Checks a WACZ `signedData` (anonymous signature) the way ReplayWeb.page's wabac.js
// does, with WebCrypto only: the SPKI `publicKey` imported as ECDSA P-384, the
// `signature` (IEEE P1363 r || s) verified with SHA-256 over the UTF-8 bytes of `hash`.
// Reads the signedData JSON on stdin; prints {"verified": bool} or {"error": name}.
import { webcrypto } from "node:crypto";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const signed = JSON.parse(Buffer.concat(chunks).toString("utf8"));

try {
  const key = await webcrypto.subtle.importKey(
    "spki",
    Buffer.from(signed.publicKey, "base64"),
    { name: "ECDSA", namedCurve: "P-384" },
    true,
    ["verify"],
  );
  const verified = await webcrypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    Buffer.from(signed.signature, "base64"),
    new TextEncoder().encode(signed.hash),
  );
  console.log(JSON.stringify({ verified }));
} catch (error) {
  console.log(JSON.stringify({ error: error.name }));
}

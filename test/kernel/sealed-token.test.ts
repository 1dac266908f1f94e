import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sealedTokens } from "../../src/kernel/sealed-token.js";

describe("sealedTokens", () => {
  const tokens = sealedTokens("a key");
  const token = tokens.seal("tenant-a|bookings", '["B7","2030-01-01"]');

  it("opens what it sealed, with the same binding only", () => {
    assert.equal(tokens.open("tenant-a|bookings", token), '["B7","2030-01-01"]');
    assert.equal(tokens.open("tenant-b|bookings", token), undefined);
    assert.equal(sealedTokens("another key").open("tenant-a|bookings", token), undefined);
  });

  it("refuses a changed payload, a changed MAC, a text that decodes to the same bytes, and garbage", () => {
    const [payload, mac] = token.split(".");
    const forged = `${Buffer.from('["Z9","2030-01-01"]').toString("base64url")}.${mac}`;
    // The last character of a 16-byte MAC carries 2 bits and 4 spare ones: its neighbour decodes to the same bytes.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sameBytes = `${payload}.${mac.slice(0, -1)}${alphabet[alphabet.indexOf(mac.at(-1)!) ^ 1]}`;
    assert.deepEqual(Buffer.from(sameBytes.split(".")[1], "base64url"), Buffer.from(mac, "base64url"));
    for (const bad of [forged, sameBytes, `${payload}.${mac}.x`, `${payload}.`, ".", "", "not-a-token", `${payload}!.${mac}`]) {
      assert.equal(tokens.open("tenant-a|bookings", bad), undefined, bad);
    }
  });
});

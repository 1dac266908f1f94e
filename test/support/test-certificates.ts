import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** PEM files of a throw-away PKI, and their contents. */
export interface TestPki {
  readonly dir: string;
  /** The CA that signs the server certificate and the trusted client certificate. */
  readonly caCert: Buffer;
  readonly caCertFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** "CN=billing-svc,O=acme", signed by the CA. */
  readonly client: { readonly cert: Buffer; readonly key: Buffer };
  /** The same subject, signed by a different CA the server does not trust. */
  readonly rogue: { readonly cert: Buffer; readonly key: Buffer };
  /**
   * Signed by the trusted CA, with a common name that spells another organization:
   * `O=mallory, CN="svc,O=acme"` and, without any O, `CN="svc,O=acme"`.
   */
  readonly crafted: { readonly cert: Buffer; readonly key: Buffer };
  readonly craftedNoOrg: { readonly cert: Buffer; readonly key: Buffer };
  dispose(): void;
}

/** True when the `openssl` command line tool runs. */
export async function opensslAvailable(): Promise<boolean> {
  try {
    await run("openssl", ["version"], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Generates with the openssl CLI, in a temporary directory: a CA, a server certificate for
 * 127.0.0.1 (subjectAltName IP:127.0.0.1), a client certificate "CN=billing-svc,O=acme"
 * signed by the CA, and a client certificate with the same subject signed by another CA.
 * P-256 keys, valid for a day.
 */
export async function createTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-pki-"));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run("openssl", args, { cwd: dir, timeout: 30_000 });
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  try {
    const ca = async (name: string, cn: string) =>
      openssl("req", "-x509", ...key, "-keyout", file(`${name}.key`), "-out", file(`${name}.crt`), "-days", "1", "-subj", `/CN=${cn}`,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    const leaf = async (name: string, subject: string, signer: string, extensions: string) => {
      await openssl("req", ...key, "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`), "-subj", subject);
      writeFileSync(file(`${name}.ext`), extensions);
      await openssl("x509", "-req", "-in", file(`${name}.csr`), "-CA", file(`${signer}.crt`), "-CAkey", file(`${signer}.key`), "-set_serial", `0x${randomBytes(8).toString("hex")}`,
        "-out", file(`${name}.crt`), "-days", "1", "-extfile", file(`${name}.ext`));
    };
    await Promise.all([ca("ca", "Switchyard Test CA"), ca("other-ca", "Some Other CA")]);
    await Promise.all([
      leaf("server", "/CN=127.0.0.1", "ca", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n"),
      leaf("client", "/CN=billing-svc/O=acme", "ca", "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n"),
      leaf("rogue", "/CN=billing-svc/O=acme", "other-ca", "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n"),
      leaf("crafted", "/O=mallory/CN=svc,O=acme", "ca", "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n"),
      leaf("crafted-no-org", "/CN=svc,O=acme", "ca", "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n"),
    ]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const read = (name: string) => readFileSync(file(name));
  return {
    dir,
    caCert: read("ca.crt"),
    caCertFile: file("ca.crt"),
    serverCertFile: file("server.crt"),
    serverKeyFile: file("server.key"),
    client: { cert: read("client.crt"), key: read("client.key") },
    rogue: { cert: read("rogue.crt"), key: read("rogue.key") },
    crafted: { cert: read("crafted.crt"), key: read("crafted.key") },
    craftedNoOrg: { cert: read("crafted-no-org.crt"), key: read("crafted-no-org.key") },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

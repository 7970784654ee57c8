/**
 * The keys a cluster keeps in Redis, all under one prefix (`porthole:` unless told otherwise), so
 * that several clusters, or other programs, can share one Redis.
 */
export interface ClusterKeys {
  /** `claim:<host>`: the token that holds the host; expires a grace period after its last renewal. */
  claim(host: string): string;
  /** `node:<id>`: a live relay, `{"url":...,"started":...}`; expires within seconds of its last heartbeat. */
  node(id: string): string;
  /** `holders:<host>`: the set of relays (node ids) that hold a worker of the host now. */
  holders(host: string): string;
  /** `tcp:<port>`: the public TCP port's owner, `{"node":...,"host":...}`; expires like a claim. */
  tcpPort(port: number): string;
}

export function clusterKeys(prefix = 'porthole:'): ClusterKeys {
  return {
    claim: (host) => `${prefix}claim:${host}`,
    node: (id) => `${prefix}node:${id}`,
    holders: (host) => `${prefix}holders:${host}`,
    tcpPort: (port) => `${prefix}tcp:${port}`,
  };
}

/**
 * Redis failed a command: what a visitor or worker is told (the client's own words, such as
 * "Stream isn't writeable and enableOfflineQueue options is false", mean nothing to them).
 */
export function redisUnreachable(err: unknown): Error {
  const e = new Error("the cluster's Redis does not answer; try again in a few seconds");
  e.cause = err;
  return e;
}

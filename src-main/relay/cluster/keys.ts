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

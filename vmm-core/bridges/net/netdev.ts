// QEMU's `-netdev` vocabulary for the network backends:
//   user[,id=ID][,net=ADDR[/MASK]][,host=ADDR][,dns=ADDR][,dhcpstart=ADDR][,restrict=on|off]
//       [,hostname=NAME][,domainname=NAME][,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...
//   stream[,id=ID],server=on|off,addr.type=inet,addr.host=HOST,addr.port=PORT[,reconnect=SECONDS]
//   stream[,id=ID],server=on|off,addr.type=unix,addr.path=PATH[,addr.abstract=on]
//   dgram[,id=ID],local.type=inet,local.host=HOST,local.port=PORT,remote.type=inet,remote.host=HOST,remote.port=PORT
// A comma inside a value is written twice (",,"), as in QEMU. parseNetdevOption() turns the
// text into a typed config or throws one BridgeError naming what is wrong.

import { BridgeError, type NetBackend } from '../types';
import { DgramNetwork, type DgramNetworkOptions } from './dgram-network';
import { PcapCapture, type PcapCaptureOptions } from './pcap';
import { StreamNetwork, type StreamNetworkOptions } from './stream-network';
import { UserNetwork, type HostForward, type UserNetworkOptions } from './user-network';
import { parseIpv4 } from './packet';

export type NetdevConfig =
  | { type: 'user'; id: string | undefined; options: UserNetworkOptions }
  | { type: 'stream'; id: string | undefined; options: StreamNetworkOptions }
  | { type: 'dgram'; id: string | undefined; options: DgramNetworkOptions };

function fail(text: string, problem: string): never {
  throw new BridgeError(`--netdev ${text}: ${problem}`);
}

/** Splits "a=1,b=x,,y" into ["a=1", "b=x,y"]. */
function splitOptions(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ',') {
      if (text[i + 1] === ',') {
        current += ',';
        i++;
        continue;
      }
      parts.push(current);
      current = '';
    } else {
      current += text[i];
    }
  }
  parts.push(current);
  return parts;
}

function parseBoolean(text: string, key: string, value: string): boolean {
  if (value === 'on' || value === 'yes' || value === 'true' || value === 'y') return true;
  if (value === 'off' || value === 'no' || value === 'false' || value === 'n') return false;
  return fail(text, `${key}=${value}: expected on or off`);
}

function parsePort(text: string, what: string, value: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(value)) fail(text, `${what} "${value}" is not a port number`);
  const port = Number(value);
  if (port > 65535 || (!allowZero && port === 0)) fail(text, `${what} ${port} is out of range (${allowZero ? 0 : 1}..65535)`);
  return port;
}

function checkAddress(text: string, what: string, value: string): string {
  if (parseIpv4(value) === undefined) fail(text, `${what} "${value}" is not an IPv4 address`);
  return value;
}

/** hostfwd=[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport */
export function parseHostForward(text: string, value: string): HostForward {
  // As QEMU: the protocol field is always there but may be empty (tcp).
  const match = /^(tcp|udp|):([^:]*):([^-]*)-([^:]*):(.*)$/.exec(value);
  if (!match) fail(text, `hostfwd=${value}: expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport`);
  const [, protocol, hostAddress, hostPort, guestAddress, guestPort] = match;
  return {
    protocol: protocol === 'udp' ? 'udp' : 'tcp',
    // QEMU listens on every interface when the address is empty; Ringside on loopback only.
    hostAddress: hostAddress === '' ? '127.0.0.1' : checkAddress(text, 'hostfwd host address', hostAddress),
    hostPort: parsePort(text, 'hostfwd host port', hostPort, true),
    guestAddress: guestAddress === '' ? undefined : checkAddress(text, 'hostfwd guest address', guestAddress),
    guestPort: parsePort(text, 'hostfwd guest port', guestPort, false),
  };
}

const NOT_IMPLEMENTED_USER_KEYS: Record<string, string> = {
  guestfwd: 'guest forwards (guestfwd=) are not implemented',
  tftp: 'the TFTP server (tftp=) is not implemented',
  bootfile: 'BOOTP boot files (bootfile=) are not implemented',
  'tftp-server-name': 'the TFTP server is not implemented',
  smb: 'the SMB server (smb=) is not implemented',
  dnssearch: 'the DNS search option (dnssearch=) is not implemented',
  domainname6: 'IPv6 is not implemented',
  ipv6: 'IPv6 is not implemented (ipv6=off is accepted)',
  ipv6net: 'IPv6 is not implemented',
  ipv6host: 'IPv6 is not implemented',
  ipv6dns: 'IPv6 is not implemented',
  ipv6prefix: 'IPv6 is not implemented',
  ipv6prefixlen: 'IPv6 is not implemented',
};

export function parseNetdevOption(text: string): NetdevConfig {
  const [type, ...rest] = splitOptions(text.trim());
  const seen = new Map<string, string>();
  const forwards: HostForward[] = [];
  for (const part of rest) {
    const equals = part.indexOf('=');
    if (equals <= 0) fail(text, `"${part}" is not key=value`);
    const key = part.slice(0, equals);
    const value = part.slice(equals + 1);
    if (type === 'user' && key === 'hostfwd') {
      forwards.push(parseHostForward(text, value));
      continue;
    }
    if (seen.has(key)) fail(text, `${key} is given twice`);
    seen.set(key, value);
  }
  const id = seen.get('id');
  seen.delete('id');
  const take = (key: string): string | undefined => {
    const value = seen.get(key);
    seen.delete(key);
    return value;
  };
  const finish = (known: string): void => {
    const [unknown] = seen.keys();
    if (unknown !== undefined) fail(text, `unknown option "${unknown}" for ${type} (known: id, ${known})`);
  };

  switch (type) {
    case 'user': {
      const options: UserNetworkOptions = { hostForwards: forwards };
      for (const key of seen.keys()) {
        if (key in NOT_IMPLEMENTED_USER_KEYS && !(key === 'ipv6' && seen.get(key) === 'off')) fail(text, NOT_IMPLEMENTED_USER_KEYS[key]);
      }
      const ipv4 = take('ipv4');
      if (ipv4 !== undefined && !parseBoolean(text, 'ipv4', ipv4)) fail(text, 'ipv4=off leaves nothing: IPv6 is not implemented');
      take('ipv6');
      const network = take('net');
      if (network !== undefined) {
        const [addressText, prefix] = network.split('/');
        checkAddress(text, 'net', addressText);
        if (prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= 30) && parseIpv4(prefix) === undefined) {
          fail(text, `net=${network}: bad netmask "${prefix}"`);
        }
        options.network = network;
      }
      const host = take('host');
      if (host !== undefined) options.hostAddress = checkAddress(text, 'host', host);
      const dns = take('dns');
      if (dns !== undefined) options.dnsAddress = checkAddress(text, 'dns', dns);
      const dhcpStart = take('dhcpstart');
      if (dhcpStart !== undefined) options.dhcpStart = checkAddress(text, 'dhcpstart', dhcpStart);
      const restrict = take('restrict');
      if (restrict !== undefined) options.restrict = parseBoolean(text, 'restrict', restrict);
      const hostname = take('hostname');
      if (hostname !== undefined) options.hostname = hostname;
      const domainName = take('domainname');
      if (domainName !== undefined) options.domainName = domainName;
      finish('net, host, dns, dhcpstart, restrict, hostname, domainname, hostfwd, ipv4, ipv6=off');
      return { type: 'user', id, options };
    }
    case 'stream': {
      const server = parseBoolean(text, 'server', take('server') ?? 'off');
      const addressType = take('addr.type');
      let options: StreamNetworkOptions;
      if (addressType === 'inet') {
        const host = take('addr.host');
        const port = take('addr.port');
        if (host === undefined || port === undefined) fail(text, 'addr.type=inet needs addr.host and addr.port');
        options = { server, address: { type: 'inet', host, port: parsePort(text, 'addr.port', port, server) } };
        for (const key of ['addr.ipv4', 'addr.ipv6', 'addr.numeric', 'addr.to', 'addr.keep-alive']) {
          if (seen.has(key)) fail(text, `${key} is not implemented`);
        }
      } else if (addressType === 'unix') {
        const path = take('addr.path');
        if (path === undefined || path === '') fail(text, 'addr.type=unix needs addr.path');
        const abstract = take('addr.abstract');
        const isAbstract = abstract !== undefined && parseBoolean(text, 'addr.abstract', abstract);
        options = { server, address: { type: 'unix', path: isAbstract ? `\0${path}` : path } };
      } else if (addressType === 'fd') {
        return fail(text, 'addr.type=fd is not implemented');
      } else {
        return fail(text, addressType === undefined ? 'addr.type=inet or addr.type=unix is required' : `addr.type=${addressType}: expected inet or unix`);
      }
      const reconnect = take('reconnect');
      const reconnectMs = take('reconnect-ms');
      if (reconnect !== undefined || reconnectMs !== undefined) {
        if (server) fail(text, 'reconnect is for server=off only');
        const value = reconnectMs ?? reconnect ?? '0';
        if (!/^\d+$/.test(value)) fail(text, `reconnect "${value}" is not a number`);
        const milliseconds = reconnectMs !== undefined ? Number(value) : Number(value) * 1000;
        if (milliseconds > 0) options.reconnectMs = milliseconds;
      }
      finish('server, addr.type, addr.host, addr.port, addr.path, addr.abstract, reconnect, reconnect-ms');
      return { type: 'stream', id, options };
    }
    case 'dgram': {
      const endpoint = (side: 'local' | 'remote'): { host: string; port: number } => {
        const kind = take(`${side}.type`);
        if (kind === 'unix') fail(text, `${side}.type=unix is not implemented (node:dgram has no Unix datagram sockets)`);
        if (kind === 'fd') fail(text, `${side}.type=fd is not implemented`);
        if (kind !== 'inet') fail(text, kind === undefined ? `${side}.type=inet is required` : `${side}.type=${kind}: expected inet`);
        const host = take(`${side}.host`);
        const port = take(`${side}.port`);
        if (host === undefined || port === undefined) fail(text, `${side}.type=inet needs ${side}.host and ${side}.port`);
        return { host, port: parsePort(text, `${side}.port`, port, side === 'local') };
      };
      const remote = endpoint('remote');
      if (parseIpv4(remote.host) !== undefined && parseIpv4(remote.host)! >>> 28 === 0xe) fail(text, 'multicast (a group address as remote.host) is not implemented');
      if (!seen.has('local.type')) fail(text, 'local.type=inet with local.host and local.port is required (multicast is not implemented)');
      const local = endpoint('local');
      finish('local.type, local.host, local.port, remote.type, remote.host, remote.port');
      return { type: 'dgram', id, options: { local, remote } };
    }
    case 'tap':
    case 'bridge':
    case 'socket':
    case 'vde':
    case 'l2tpv3':
    case 'vhost-user':
    case 'vhost-vdpa':
    case 'hubport':
      return fail(text, `netdev type "${type}" is not implemented (user, stream and dgram are)`);
    default:
      return fail(text, `unknown netdev type "${type}" (expected user, stream or dgram)`);
  }
}

export interface OpenNetBackendOptions {
  /** Also capture every frame to this pcap file (QEMU's filter-dump, Ringside's --pcap). */
  pcap?: string;
  pcapClock?: PcapCaptureOptions['clock'];
}

/** Opens the backend a config names and waits until it listens, is bound or is connected. */
export async function openNetBackend(config: NetdevConfig, options: OpenNetBackendOptions = {}): Promise<NetBackend> {
  let backend: NetBackend;
  switch (config.type) {
    case 'user':
      backend = await UserNetwork.open(config.options);
      break;
    case 'stream':
      backend = await StreamNetwork.open(config.options);
      break;
    case 'dgram':
      backend = await DgramNetwork.open(config.options);
      break;
  }
  if (options.pcap === undefined) return backend;
  try {
    return new PcapCapture(backend, options.pcap, { clock: options.pcapClock });
  } catch (error) {
    backend.close();
    throw error;
  }
}

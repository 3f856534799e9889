// The user-mode network's DHCP server (RFC 2131/2132, and plain BOOTP): leases from a pool of
// 16 addresses keyed by the client's MAC, as QEMU's slirp does. Replies go to the IPv4 and
// Ethernet broadcast addresses, as slirp's do, which every client accepts before it has an
// address (busybox udhcpc reads a raw socket; Linux ipconfig checks only the port).

import { formatMac, readU16, readU32, writeU16, writeU32 } from './packet';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
/** Fixed BOOTP fields before the options (RFC 951). */
const BOOTP_FIXED_LENGTH = 236;
const MAGIC_COOKIE = 0x63825363;
/** slirp's reply size: the fixed fields, the cookie and a 308-byte option area. */
const REPLY_LENGTH = 548;

export const DHCP_DISCOVER = 1;
export const DHCP_OFFER = 2;
export const DHCP_REQUEST = 3;
export const DHCP_DECLINE = 4;
export const DHCP_ACK = 5;
export const DHCP_NAK = 6;
export const DHCP_RELEASE = 7;
export const DHCP_INFORM = 8;

const OPTION_PAD = 0;
const OPTION_SUBNET_MASK = 1;
const OPTION_ROUTER = 3;
const OPTION_DNS = 6;
const OPTION_HOSTNAME = 12;
const OPTION_DOMAIN_NAME = 15;
const OPTION_REQUESTED_ADDRESS = 50;
const OPTION_LEASE_TIME = 51;
const OPTION_MESSAGE_TYPE = 53;
const OPTION_SERVER_ID = 54;
const OPTION_MESSAGE = 56;
const OPTION_END = 255;

export interface DhcpServerConfig {
  serverAddress: number;
  netmask: number;
  /** Router and DNS server options; QEMU leaves both out with restrict=on. */
  router: number | undefined;
  dnsServer: number | undefined;
  poolStart: number;
  poolSize: number;
  leaseSeconds: number;
  hostname?: string;
  domainName?: string;
}

export interface DhcpReply {
  /** The BOOTP message (UDP payload) to send from the server port to the client port. */
  message: Uint8Array;
  /** The address handed out, when there is one (for the ARP table). */
  clientAddress: number | undefined;
  clientMac: Uint8Array;
  messageType: number;
}

/** What happened to a request that got no reply, for counters. */
export type DhcpOutcome = DhcpReply | { ignored: string } | { handled: string };

interface ParsedRequest {
  transactionId: number;
  flags: number;
  clientAddress: number;
  relayAddress: number;
  clientMac: Uint8Array;
  chaddr: Uint8Array;
  messageType: number;
  requestedAddress: number | undefined;
  serverId: number | undefined;
}

export class DhcpServer {
  /** Address by client MAC ("52:54:00:12:34:56"). */
  private readonly leases = new Map<string, number>();
  /** Addresses a client declined (in use by someone else); not offered again. */
  private readonly declined = new Set<number>();

  constructor(private readonly config: DhcpServerConfig) {}

  /** Current leases, MAC to address. */
  leaseTable(): ReadonlyMap<string, number> {
    return this.leases;
  }

  handle(message: Uint8Array): DhcpOutcome {
    const request = parseRequest(message);
    if (typeof request === 'string') return { ignored: request };
    const mac = formatMac(request.clientMac);
    switch (request.messageType) {
      case DHCP_DISCOVER: {
        const address = this.choose(mac, request.requestedAddress);
        if (address === undefined) return { ignored: 'dhcp-pool-exhausted' };
        // Held for this client from the offer on, as slirp does, so two clients never get one address.
        this.leases.set(mac, address);
        return this.reply(request, DHCP_OFFER, address);
      }
      case DHCP_REQUEST: {
        if (request.serverId !== undefined && request.serverId !== this.config.serverAddress) {
          return { handled: 'dhcp-request-for-other-server' };
        }
        const wanted = request.requestedAddress ?? (request.clientAddress !== 0 ? request.clientAddress : undefined);
        if (wanted === undefined) {
          // No address named: as slirp, behave as if it had been assigned before (Windows asks so).
          const address = this.choose(mac, undefined);
          if (address === undefined) return { ignored: 'dhcp-pool-exhausted' };
          this.leases.set(mac, address);
          return this.reply(request, DHCP_ACK, address);
        }
        if (!this.available(wanted, mac)) return this.reply(request, DHCP_NAK, undefined);
        this.leases.set(mac, wanted);
        return this.reply(request, DHCP_ACK, wanted);
      }
      case 0: {
        // Plain BOOTP: a permanent address, answered like a DHCP request (slirp does the same).
        const address = this.choose(mac, undefined);
        if (address === undefined) return { ignored: 'dhcp-pool-exhausted' };
        this.leases.set(mac, address);
        return this.reply(request, DHCP_ACK, address);
      }
      case DHCP_DECLINE: {
        const address = request.requestedAddress;
        if (address !== undefined && this.leases.get(mac) === address) {
          this.leases.delete(mac);
          this.declined.add(address);
        }
        return { handled: 'dhcp-decline' };
      }
      case DHCP_RELEASE: {
        if (this.leases.get(mac) === request.clientAddress) this.leases.delete(mac);
        return { handled: 'dhcp-release' };
      }
      case DHCP_INFORM:
        // Configuration only: no address, no lease time (RFC 2131 3.4).
        return this.reply(request, DHCP_ACK, undefined, true);
      default:
        return { ignored: 'dhcp-unexpected-message-type' };
    }
  }

  private inPool(address: number): boolean {
    const index = address - this.config.poolStart;
    return index >= 0 && index < this.config.poolSize;
  }

  private available(address: number, mac: string): boolean {
    if (!this.inPool(address) || this.declined.has(address)) return false;
    for (const [owner, leased] of this.leases) if (leased === address && owner !== mac) return false;
    return true;
  }

  private choose(mac: string, requested: number | undefined): number | undefined {
    if (requested !== undefined && this.available(requested, mac)) return requested;
    const current = this.leases.get(mac);
    if (current !== undefined) return current;
    for (let index = 0; index < this.config.poolSize; index++) {
      const address = this.config.poolStart + index;
      if (this.available(address, mac)) return address;
    }
    return undefined;
  }

  private reply(request: ParsedRequest, type: number, address: number | undefined, inform = false): DhcpReply {
    const config = this.config;
    const message = new Uint8Array(REPLY_LENGTH);
    message[0] = 2; // BOOTREPLY
    message[1] = 1;
    message[2] = 6;
    writeU32(message, 4, request.transactionId);
    writeU16(message, 10, request.flags);
    if (inform) writeU32(message, 12, request.clientAddress);
    if (type !== DHCP_NAK && address !== undefined) {
      writeU32(message, 16, address);
      writeU32(message, 20, config.serverAddress);
    }
    writeU32(message, 24, request.relayAddress);
    message.set(request.chaddr, 28);
    writeU32(message, BOOTP_FIXED_LENGTH, MAGIC_COOKIE);
    let at = BOOTP_FIXED_LENGTH + 4;
    const option = (code: number, value: Uint8Array): void => {
      if (at + 2 + value.length >= REPLY_LENGTH) return;
      message[at] = code;
      message[at + 1] = value.length;
      message.set(value, at + 2);
      at += 2 + value.length;
    };
    const address32 = (value: number): Uint8Array => {
      const bytes = new Uint8Array(4);
      writeU32(bytes, 0, value);
      return bytes;
    };
    if (request.messageType !== 0 || type === DHCP_NAK) option(OPTION_MESSAGE_TYPE, new Uint8Array([type]));
    option(OPTION_SERVER_ID, address32(config.serverAddress));
    if (type === DHCP_NAK) {
      option(OPTION_MESSAGE, new TextEncoder().encode('requested address not available'));
    } else {
      option(OPTION_SUBNET_MASK, address32(config.netmask));
      if (config.router !== undefined) option(OPTION_ROUTER, address32(config.router));
      if (config.dnsServer !== undefined) option(OPTION_DNS, address32(config.dnsServer));
      if (!inform) option(OPTION_LEASE_TIME, address32(config.leaseSeconds));
      if (config.hostname) option(OPTION_HOSTNAME, new TextEncoder().encode(config.hostname.slice(0, 255)));
      if (config.domainName) option(OPTION_DOMAIN_NAME, new TextEncoder().encode(config.domainName.slice(0, 255)));
    }
    message[at] = OPTION_END;
    return { message, clientAddress: type === DHCP_NAK ? undefined : address, clientMac: request.clientMac, messageType: type };
  }
}

function parseRequest(message: Uint8Array): ParsedRequest | string {
  if (message.length < BOOTP_FIXED_LENGTH) return 'dhcp-truncated';
  if (message[0] !== 1) return 'dhcp-not-a-request';
  if (message[1] !== 1 || message[2] !== 6) return 'dhcp-not-ethernet';
  const request: ParsedRequest = {
    transactionId: readU32(message, 4),
    flags: readU16(message, 10),
    clientAddress: readU32(message, 12),
    relayAddress: readU32(message, 24),
    clientMac: message.slice(28, 34),
    chaddr: message.slice(28, 44),
    messageType: 0,
    requestedAddress: undefined,
    serverId: undefined,
  };
  if (message.length < BOOTP_FIXED_LENGTH + 4 || readU32(message, BOOTP_FIXED_LENGTH) !== MAGIC_COOKIE) return request;
  let at = BOOTP_FIXED_LENGTH + 4;
  let sawMessageType = false;
  while (at < message.length) {
    const code = message[at];
    if (code === OPTION_PAD) {
      at++;
      continue;
    }
    if (code === OPTION_END) break;
    if (at + 1 >= message.length) return 'dhcp-bad-option';
    const length = message[at + 1];
    const value = at + 2;
    if (value + length > message.length) return 'dhcp-bad-option';
    if (code === OPTION_MESSAGE_TYPE && length >= 1) {
      request.messageType = message[value];
      sawMessageType = true;
    } else if (code === OPTION_REQUESTED_ADDRESS && length >= 4) {
      request.requestedAddress = readU32(message, value);
    } else if (code === OPTION_SERVER_ID && length >= 4) {
      request.serverId = readU32(message, value);
    }
    at = value + length;
  }
  if (sawMessageType && request.messageType === 0) return 'dhcp-unexpected-message-type';
  return request;
}

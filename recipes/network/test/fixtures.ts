/** The guide's Appendix 2 dual-NIC example, as a `network` section, shared by the unit tests. */
export const GUIDE = {
  internal: { address: '10.40.0.2', netmask: '255.255.255.0' },
  external: {
    address: '198.51.100.130',
    netmask: '255.255.255.128',
    gateway: '198.51.100.129',
    dns: ['8.8.8.8', '8.8.4.4'],
  },
  routes: [{ to: '10.0.50.0/24', via: '10.40.0.1' }],
};

"""The address classes the URL guard's tests judge by, written independently of handlers/interlock/address_policy.py:
the networks whose addresses are never called (IANA special-purpose and reserved space), and generated addresses
inside one of them."""

import ipaddress

from hypothesis import strategies as st

NON_GLOBAL_V4 = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
]
NON_GLOBAL_V6 = [
    ipaddress.ip_network(n)
    for n in (
        "::/8",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
        "3fff::/20",
        "4000::/2",
        "8000::/1",
    )
]


def in_network(network):
    """Any address of `network`."""
    return st.integers(int(network.network_address), int(network.broadcast_address)).map(type(network.network_address))

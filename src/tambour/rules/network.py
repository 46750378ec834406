"""What Tambour keeps of a visitor's address (a form's submission, a short link's click): its
network, never the address itself (a network is not a person)."""

import ipaddress


def truncated_ip(address: str | None) -> str | None:
    """The client's address cut to its network: /24 for IPv4, /48 for IPv6; an IPv4 address
    mapped into IPv6 counts as IPv4. None for no address or what is not one."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))

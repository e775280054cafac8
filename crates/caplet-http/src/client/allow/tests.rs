use super::*;

fn list(text: &str) -> AllowList {
    AllowList::parse(text).unwrap()
}

fn host(text: &str) -> Host {
    Host::parse(text).unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn entries_parse_in_every_form() {
    let parsed = list(
        " Example.COM, api.example.com:8443 ,*.svc.example, 10.0.0.0/8, ::1, [fe80::1]:81, 1.2.3.4:80, ",
    );
    assert_eq!(parsed.entries.len(), 7);
    assert!(list("").entries.is_empty());
    for (bad, expected) in [
        ("*", "bare `*`"),
        ("10.0.0.0/33", "prefix length"),
        ("foo/8", "not an IP address"),
        ("host:0", "not a port"),
        ("host:http", "not a port"),
        ("fe80::1:80x", "needs brackets"),
        ("[::1", "closing"),
        ("a..b", "not a host name"),
        ("*.*.x", "not a host name"),
        ("0x7f.1", "looks like an IP"),
        ("2130706433", "looks like an IP"),
        ("ex ample.com", "not a host name"),
    ] {
        let error = AllowList::parse(&format!("ok.example, {bad}")).unwrap_err();
        assert!(error.contains(expected), "{bad}: {error}");
        assert!(error.contains(&format!("`{bad}`")), "{bad}: {error}");
    }
}

#[test]
fn hosts_match_names_ports_wildcards_and_networks() {
    let allow =
        list("example.com, api.example.org:8443, *.svc.example, 10.0.0.0/8, 127.0.0.1:9000");
    assert!(allow.match_host(&host("EXAMPLE.com."), 80));
    assert!(!allow.match_host(&host("www.example.com"), 80));
    assert!(allow.match_host(&host("api.example.org"), 8443));
    assert!(!allow.match_host(&host("api.example.org"), 443));
    assert!(allow.match_host(&host("a.b.svc.example"), 1));
    assert!(!allow.match_host(&host("svc.example"), 1));
    assert!(!allow.match_host(&host("evilsvc.example"), 1));
    assert!(allow.match_host(&host("10.1.2.3"), 1));
    assert!(allow.match_host(&host("[::ffff:10.1.2.3]"), 1));
    assert!(allow.match_host(&host("127.0.0.1"), 9000));
    assert!(allow.match_host(&host("[::ffff:127.0.0.1]"), 9000));
    assert!(!allow.match_host(&host("127.0.0.1"), 9001));
    assert!(!allow.match_host(&host("169.254.169.254"), 80));
    // A name entry never matches an IP-literal URL, nor an IP entry a name.
    assert!(!list("localhost").match_host(&host("127.0.0.1"), 80));
    assert!(!list("127.0.0.1").match_host(&host("localhost"), 80));
    assert!(!AllowList::default().match_host(&host("example.com"), 80));
    assert!(Host::parse("0x7f.1").is_err());
    assert!(Host::parse("127.1").is_err());
}

#[test]
fn special_addresses_need_an_ip_or_cidr_entry() {
    // A name entry, exact or wildcard, opens public addresses only (E10): `localhost` and
    // `db.internal` resolving to loopback/private stay denied.
    let allow = list("*.example.com, localhost, db.internal, 192.168.1.0/24, 10.0.0.1");
    for (addr, class) in [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::7f00:1", "loopback"),
        ("10.0.0.2", "private"),
        ("fd12::1", "private (unique local)"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.1.1", "shared (carrier-grade NAT)"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:169.254.169.254", CLOUD_METADATA),
    ] {
        assert_eq!(allow.check_addr(ip(addr), 80), Err(class), "{addr}");
    }
    for addr in [
        "93.184.216.34",
        "2606:2800:220:1::1",
        "192.168.1.7",
        "10.0.0.1",
        "::ffff:10.0.0.1",
    ] {
        assert!(allow.check_addr(ip(addr), 80).is_ok(), "{addr}");
    }
    // Listed by IP with a port: that port only.
    let allow = list("127.0.0.1:8080");
    assert!(allow.check_addr(ip("127.0.0.1"), 8080).is_ok());
    assert_eq!(allow.check_addr(ip("127.0.0.1"), 8081), Err("loopback"));
}

#[test]
fn cloud_metadata_endpoints_are_denied_whatever_the_list_says() {
    let allow = list("169.254.169.254, 169.254.0.0/16, 0.0.0.0/0, ::/0, fd00:ec2::254");
    for addr in [
        "169.254.169.254",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "169.254.170.2",
        "100.100.100.200",
        "fd00:ec2::254",
    ] {
        assert!(is_cloud_metadata(ip(addr)), "{addr}");
        assert_eq!(
            allow.check_addr(ip(addr), 80),
            Err(CLOUD_METADATA),
            "{addr}"
        );
    }
    for addr in [
        "169.254.169.253",
        "169.254.1.1",
        "100.100.100.100",
        "fd00:ec2::253",
        "8.8.8.8",
    ] {
        assert!(!is_cloud_metadata(ip(addr)), "{addr}");
        assert!(allow.check_addr(ip(addr), 80).is_ok(), "{addr}");
    }
}

#[test]
fn address_classes() {
    for (addr, class) in [
        ("0.0.0.0", Some("unspecified")),
        ("127.8.9.10", Some("loopback")),
        ("10.1.1.1", Some("private")),
        ("172.31.0.1", Some("private")),
        ("192.168.0.1", Some("private")),
        ("169.254.1.1", Some("link-local")),
        ("100.100.100.200", Some("shared (carrier-grade NAT)")),
        ("224.0.0.1", Some("multicast")),
        ("255.255.255.255", Some("reserved (or broadcast)")),
        ("8.8.8.8", None),
        ("172.32.0.1", None),
        ("::", Some("unspecified")),
        ("::1", Some("loopback")),
        ("fd00::1", Some("private (unique local)")),
        ("fe80::1", Some("link-local")),
        ("ff02::1", Some("multicast")),
        ("::ffff:127.0.0.1", Some("loopback")),
        ("64:ff9b::a9fe:a9fe", Some("link-local (cloud metadata)")),
        ("64:ff9b::808:808", None),
        ("2001:4860:4860::8888", None),
    ] {
        assert_eq!(special_class(ip(addr)), class, "{addr}");
    }
}

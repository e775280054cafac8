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
    assert_eq!(
        allow.match_host(&host("EXAMPLE.com."), 80),
        Some(Matched::Explicit)
    );
    assert_eq!(allow.match_host(&host("www.example.com"), 80), None);
    assert_eq!(
        allow.match_host(&host("api.example.org"), 8443),
        Some(Matched::Explicit)
    );
    assert_eq!(allow.match_host(&host("api.example.org"), 443), None);
    assert_eq!(
        allow.match_host(&host("a.b.svc.example"), 1),
        Some(Matched::Wildcard)
    );
    assert_eq!(allow.match_host(&host("svc.example"), 1), None);
    assert_eq!(allow.match_host(&host("evilsvc.example"), 1), None);
    assert_eq!(
        allow.match_host(&host("10.1.2.3"), 1),
        Some(Matched::Explicit)
    );
    assert_eq!(
        allow.match_host(&host("[::ffff:10.1.2.3]"), 1),
        Some(Matched::Explicit)
    );
    assert_eq!(
        allow.match_host(&host("127.0.0.1"), 9000),
        Some(Matched::Explicit)
    );
    assert_eq!(allow.match_host(&host("127.0.0.1"), 9001), None);
    assert_eq!(allow.match_host(&host("169.254.169.254"), 80), None);
    assert_eq!(
        AllowList::default().match_host(&host("example.com"), 80),
        None
    );
    assert!(Host::parse("0x7f.1").is_err());
    assert!(Host::parse("127.1").is_err());
}

#[test]
fn special_addresses_need_an_explicit_entry() {
    let allow = list("*.example.com, db.internal, 192.168.1.0/24");
    // A wildcard name resolving to loopback (DNS rebinding) is refused.
    assert_eq!(
        allow.check_addr(Matched::Wildcard, ip("127.0.0.1"), 80),
        Err("loopback")
    );
    assert_eq!(
        allow.check_addr(Matched::Wildcard, ip("::ffff:169.254.169.254"), 80),
        Err("link-local (cloud metadata)")
    );
    assert!(
        allow
            .check_addr(Matched::Wildcard, ip("93.184.216.34"), 80)
            .is_ok()
    );
    assert!(
        allow
            .check_addr(Matched::Wildcard, ip("192.168.1.7"), 80)
            .is_ok()
    );
    assert!(
        allow
            .check_addr(Matched::Explicit, ip("10.0.0.1"), 80)
            .is_ok()
    );
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

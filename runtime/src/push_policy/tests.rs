//! The allowlist and the address ranges, case by case.

use std::net::IpAddr;

use super::{DEFAULT_PUSH_HOSTS, PushPolicy, Refusal, address_kind};

fn policy(extra: &[&str], allow_loopback: bool) -> PushPolicy {
    let hosts: Vec<String> = DEFAULT_PUSH_HOSTS
        .iter()
        .chain(extra)
        .map(|h| (*h).to_owned())
        .collect();
    PushPolicy::new(&hosts, allow_loopback).expect("valid hosts")
}

#[test]
fn the_browsers_push_services_are_accepted() {
    let p = policy(&[], false);
    for endpoint in [
        "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b",
        "https://fcm.googleapis.com/wp/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk",
        "https://web.push.apple.com/QGuQyavXutnMH6",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB",
        "https://FCM.GoogleAPIs.com/fcm/send/x",
        "https://fcm.googleapis.com:443/fcm/send/x",
    ] {
        assert!(p.check_endpoint(endpoint).is_ok(), "{endpoint}");
    }
}

#[test]
fn ip_literals_in_every_spelling_are_refused() {
    let p = policy(&[], false);
    for endpoint in [
        "https://127.0.0.1/",
        "https://127.1/",
        "https://2130706433/",
        "https://0x7f.1/",
        "https://0x7f000001/",
        "https://0177.0.0.1/",
        "https://%31%32%37.0.0.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://10.0.0.1/",
        "https://8.8.8.8/",
    ] {
        assert_eq!(
            p.check_endpoint(endpoint),
            Err(Refusal::IpLiteral),
            "{endpoint}"
        );
    }
}

#[test]
fn hosts_outside_the_allowlist_are_refused() {
    let p = policy(&[], false);
    for endpoint in [
        "https://evil.example/push",
        "https://fcm.googleapis.com.evil.example/",
        "https://evilfcm.googleapis.com/",
        "https://push.apple.com/",
        "https://xpush.apple.com/",
        "https://notify.windows.com/",
        "https://localhost/",
        "https://localhost:4321/push/1",
        "https://metadata.google.internal/",
        "https://fcm.googleapis.com./fcm/send/x",
    ] {
        assert!(
            matches!(p.check_endpoint(endpoint), Err(Refusal::UnknownHost(_))),
            "{endpoint}: {:?}",
            p.check_endpoint(endpoint)
        );
    }
}

#[test]
fn other_schemes_user_info_other_ports_and_garbage_are_refused() {
    let p = policy(&[], false);
    let cases = [
        ("http://fcm.googleapis.com/fcm/send/x", Refusal::NotHttps),
        ("ftp://fcm.googleapis.com/", Refusal::NotHttps),
        ("file:///etc/passwd", Refusal::NotHttps),
        ("http://127.0.0.1:4321/push/1", Refusal::NotHttps),
        ("https://user@fcm.googleapis.com/x", Refusal::UserInfo),
        ("https://user:pw@fcm.googleapis.com/x", Refusal::UserInfo),
        ("https://:pw@fcm.googleapis.com/x", Refusal::UserInfo),
        ("https://fcm.googleapis.com:8443/x", Refusal::Port(8443)),
        ("https://web.push.apple.com:80/x", Refusal::Port(80)),
        ("https://", Refusal::Malformed),
        ("fcm.googleapis.com/fcm/send/x", Refusal::Malformed),
        ("https://fcm.googleapis.com/ x", Refusal::Malformed),
        ("https://fcm.googleapis.com/\u{0}x", Refusal::Malformed),
        ("https://fcm.googleapis.com/\nx", Refusal::Malformed),
    ];
    for (endpoint, refusal) in cases {
        assert_eq!(p.check_endpoint(endpoint), Err(refusal), "{endpoint:?}");
    }
    let long = format!("https://fcm.googleapis.com/{}", "a".repeat(2048));
    assert_eq!(p.check_endpoint(&long), Err(Refusal::Malformed));
}

#[test]
fn an_entry_with_a_port_allows_that_port_only() {
    let p = policy(&["push.example.com:8443", "*.push.example.net"], false);
    assert!(p.check_endpoint("https://push.example.com:8443/x").is_ok());
    assert_eq!(
        p.check_endpoint("https://push.example.com/x"),
        Err(Refusal::Port(443))
    );
    assert!(p.check_endpoint("https://eu.push.example.net/x").is_ok());
    assert!(p.check_endpoint("https://a.b.push.example.net/x").is_ok());
}

#[test]
fn the_loopback_allowance_lets_this_machine_through_and_nothing_else() {
    let p = policy(&[], true);
    for endpoint in [
        "http://127.0.0.1:4321/push/1",
        "https://127.0.0.1:4321/push/1",
        "http://localhost:4321/push/1",
        "http://[::1]:4321/push/1",
    ] {
        assert!(p.check_endpoint(endpoint).is_ok(), "{endpoint}");
    }
    assert_eq!(p.check_endpoint("http://10.0.0.1/"), Err(Refusal::NotHttps));
    assert_eq!(
        p.check_endpoint("https://10.0.0.1/"),
        Err(Refusal::IpLiteral)
    );
    assert_eq!(
        p.check_endpoint("http://user@127.0.0.1:4321/"),
        Err(Refusal::UserInfo)
    );
    let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
    assert!(p.check_address("localhost", ip("127.0.0.1")).is_ok());
    assert!(p.check_address("localhost", ip("::1")).is_ok());
    assert!(p.check_address("x", ip("10.0.0.1")).is_err());
    assert!(p.check_address("x", ip("169.254.169.254")).is_err());
    let strict = policy(&[], false);
    assert!(strict.check_address("localhost", ip("127.0.0.1")).is_err());
    assert!(strict.check_address("localhost", ip("::1")).is_err());
}

#[test]
fn every_non_public_range_is_named_and_public_addresses_pass() {
    let cases = [
        ("127.0.0.1", Some("loopback")),
        ("127.255.0.9", Some("loopback")),
        ("10.1.2.3", Some("private")),
        ("172.16.0.1", Some("private")),
        ("172.31.255.255", Some("private")),
        ("192.168.1.1", Some("private")),
        ("100.64.0.1", Some("shared (CGNAT)")),
        ("100.127.255.254", Some("shared (CGNAT)")),
        ("169.254.169.254", Some("cloud metadata")),
        ("169.254.1.1", Some("link-local")),
        ("0.0.0.0", Some("unspecified")),
        ("224.0.0.1", Some("multicast")),
        ("239.255.255.250", Some("multicast")),
        ("255.255.255.255", Some("broadcast")),
        ("240.0.0.1", Some("reserved")),
        ("192.0.2.1", Some("documentation")),
        ("::1", Some("loopback")),
        ("::", Some("unspecified")),
        ("fe80::1", Some("link-local")),
        ("fc00::1", Some("unique-local")),
        ("fd12:3456::1", Some("unique-local")),
        ("fd00:ec2::254", Some("cloud metadata")),
        ("ff02::1", Some("multicast")),
        ("::ffff:127.0.0.1", Some("loopback")),
        ("::ffff:10.0.0.1", Some("private")),
        ("::ffff:169.254.169.254", Some("cloud metadata")),
        ("64:ff9b::a9fe:a9fe", Some("cloud metadata")),
        ("64:ff9b::7f00:1", Some("loopback")),
        ("::127.0.0.1", Some("reserved")),
        ("2001:db8::1", Some("documentation")),
        ("2002:7f00:1::1", Some("reserved (6to4)")),
        ("2001::1", Some("reserved (IETF protocol)")),
        ("8.8.8.8", None),
        ("142.250.180.10", None),
        ("172.32.0.1", None),
        ("100.128.0.1", None),
        ("2a00:1450:4001:82b::200a", None),
        ("2606:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
    ];
    for (addr, kind) in cases {
        let ip: IpAddr = addr.parse().expect("ip");
        assert_eq!(address_kind(ip), kind, "{addr}");
    }
}

#[test]
fn an_allowlist_entry_that_is_not_a_host_pattern_is_refused_at_start_up() {
    for entry in [
        "",
        "*.",
        "*",
        "https://fcm.googleapis.com",
        "fcm.googleapis.com/",
        "127.0.0.1",
        "2130706433",
        "0x7f.1",
        "[::1]",
        "push.example.com:0",
        "push.example.com:99999",
        "*.*.example.com",
        "-bad.example.com",
        "a..b",
    ] {
        assert!(
            PushPolicy::new(&[entry.to_owned()], false).is_err(),
            "{entry:?}"
        );
    }
}

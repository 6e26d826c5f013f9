//! Counting this machine's open TCP connections to a port, from `/proc/net/tcp` (Linux).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The client ends of established IPv4 connections to `port` (the fake's server ends are not
/// counted), or `None` where `/proc/net/tcp` cannot be read.
pub fn established_to(port: u16) -> Option<usize> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    // The kernel writes the table in pieces while connections come and go, so one socket can be
    // listed twice in one read: each is counted once, by its local address and port.
    let clients: std::collections::HashSet<&str> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let remote_port = fields.get(2).and_then(|remote| remote.rsplit(':').next());
            let remote_port = remote_port.and_then(|hex| u16::from_str_radix(hex, 16).ok());
            (remote_port == Some(port) && fields.get(3) == Some(&"01")).then(|| fields[1])
        })
        .collect();
    Some(clients.len())
}

/// Runs `work` while sampling [`established_to`] every few milliseconds; returns its result and
/// the most connections seen at once (`None` where they cannot be counted).
pub fn most_established_while<R>(port: u16, work: impl FnOnce() -> R) -> (R, Option<usize>) {
    if established_to(port).is_none() {
        return (work(), None);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut most = 0;
            while !stop.load(Ordering::Relaxed) {
                most = most.max(established_to(port).unwrap_or(0));
                std::thread::sleep(Duration::from_millis(5));
            }
            most
        })
    };
    let result = work();
    stop.store(true, Ordering::Relaxed);
    let most = sampler.join().expect("the sampler thread");
    (result, Some(most))
}

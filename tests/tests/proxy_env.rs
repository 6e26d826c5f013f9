//! A loopback base URL never goes through a proxy named in the environment, through any adapter:
//! plain `http` is allowed there, so a proxy would see the secrets in clear.
//!
//! The proxy variables must not leak into other tests, so the parent test runs the ignored child
//! test in a process of its own with `HTTP_PROXY`, `ALL_PROXY` (both cases) and `HTTPS_PROXY`
//! pointing at a listener on loopback, and checks that the listener was never connected to.

use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use square_oauth::RetrieveTokenStatus;
use square_oauth_tests::{Driver, Fixture, HyperDriver, ReqwestDriver, UreqDriver};

/// Set in the child's environment, so that the child test knows it runs under its parent.
const CHILD: &str = "SQUARE_OAUTH_PROXY_ENV_CHILD";

#[test]
fn loopback_requests_never_reach_an_environment_proxy() {
    let proxy = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let address = proxy.local_addr().expect("its address");
    proxy.set_nonblocking(true).expect("a non-blocking listener");
    let connections = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (connections, done) = (Arc::clone(&connections), Arc::clone(&done));
        // Accepted connections are dropped at once: a client sent there fails fast.
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                match proxy.accept() {
                    Ok(_) => drop(connections.fetch_add(1, Ordering::SeqCst)),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        })
    };

    let url = format!("http://{address}");
    let output = Command::new(std::env::current_exe().expect("this test binary"))
        .args(["--ignored", "--exact", "child_calls_the_fake_through_every_adapter", "--nocapture"])
        .env(CHILD, "1")
        .env("HTTP_PROXY", &url)
        .env("http_proxy", &url)
        .env("ALL_PROXY", &url)
        .env("all_proxy", &url)
        .env("HTTPS_PROXY", &url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .expect("the child test runs");
    done.store(true, Ordering::SeqCst);
    watcher.join().expect("the proxy's watcher");
    let seen = connections.load(Ordering::SeqCst);
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(seen, 0, "the proxy named in the environment was connected to:\n{report}");
    assert!(output.status.success(), "the child failed:\n{report}");
    assert!(report.contains("1 passed"), "the child test did not run:\n{report}");
}

/// Run only by the test above, with the proxy variables set.
#[test]
#[ignore = "run by loopback_requests_never_reach_an_environment_proxy, with a proxy in its environment"]
fn child_calls_the_fake_through_every_adapter() {
    assert!(std::env::var_os(CHILD).is_some(), "run by its parent only");
    assert!(std::env::var_os("HTTP_PROXY").is_some());
    fn through<D: Driver>() {
        let fixture = Fixture::start();
        assert!(fixture.mock.base_url().starts_with("http://127.0.0.1"), "{}", fixture.mock.base_url());
        let driver: D = fixture.driver();
        let access = fixture.code_flow_tokens(&driver).access_token.expect("an access token");
        driver.send(&RetrieveTokenStatus::new(access)).expect("a status call");
        let statuses = fixture.requests_to(square_oauth_tests::fixture::STATUS).len();
        assert_eq!(statuses, 1, "{}: the status call reached the fake directly", driver.name());
    }
    through::<UreqDriver>();
    through::<HyperDriver>();
    through::<ReqwestDriver>();
}

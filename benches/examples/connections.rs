//! Checks that every client of the loopback pairs keeps its connection alive: prints the
//! connections the server accepted after 200 round trips of each.
use square_oauth_benches::loopback::{HyperPair, Server, UreqPair};

fn main() {
    let server = Server::start();
    let hyper = HyperPair::new(&server);
    let after_setup = server.connections();
    hyper.runtime.block_on(async {
        for _ in 0..200 {
            hyper.ours().await;
        }
    });
    let after_ours = server.connections();
    hyper.runtime.block_on(async {
        for _ in 0..200 {
            hyper.base().await;
        }
    });
    println!(
        "hyper: setup {after_setup}, adapter +{}, raw +{}",
        after_ours - after_setup,
        server.connections() - after_ours
    );
    let ureq = UreqPair::new(&server);
    let after_setup = server.connections();
    for _ in 0..200 {
        ureq.ours();
    }
    let after_ours = server.connections();
    for _ in 0..200 {
        ureq.base();
    }
    println!("ureq: adapter +{}, raw +{}", after_ours - after_setup, server.connections() - after_ours);
}

#![no_main]
//! `eks update-kubeconfig`'s YAML (the binary's module, included): any text is read
//! within bounds or refused; whatever is accepted and merged is written back so that it
//! reads back as exactly what was merged.

use libfuzzer_sys::fuzz_target;
use yaml_rust2::Yaml;

#[allow(dead_code)]
#[path = "../../src/cli/kubeconfig_yaml.rs"]
mod kubeconfig_yaml;

use kubeconfig_yaml::{has_entry, insert, key, map, parse, string, write};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut content) = parse(text) else {
        return;
    };
    let arn = "arn:aws:eks:us-east-1:111111111111:cluster/fuzz";
    let entry = |field: &str, body: Yaml| map(vec![(field, body), ("name", string(arn))]);
    insert(&mut content, "clusters", entry("cluster", map(vec![("server", string("https://x"))])));
    insert(&mut content, "users", entry("user", map(vec![("token", string("t"))])));
    insert(
        &mut content,
        "contexts",
        entry("context", map(vec![("cluster", string(arn)), ("user", string(arn))])),
    );
    content.insert(key("current-context"), string(arn));
    // `write` refuses what would not read back as `content`; what it returns must.
    let Ok(written) = write(&content) else {
        return;
    };
    let back = parse(&written).expect("what write returns reads back");
    assert!(back == content, "the written kubeconfig reads back differently:\n{written}");
    assert!(has_entry(&back, "clusters", arn));
});

// TEMPORARY local placeholder until branch `parsers` is merged (never committed).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, Default)]
pub struct DnsFiles {
    pub x: u8,
}
pub fn read_dns_files(_root: &std::path::Path, _o: Option<&std::path::Path>) -> DnsFiles {
    DnsFiles::default()
}

// TEMPORARY local placeholder until branch `parsers` is merged (never committed).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, Default)]
pub struct Firewall {
    pub errors: Vec<String>,
}
pub mod collect {
    pub fn collect_in_current_netns() -> super::Firewall {
        super::Firewall::default()
    }
}

use super::PortResult;
use async_trait::async_trait;

/// Values one installation makes once and keeps for good (the key that signs reply
/// tokens): every process of it, local or a Lambda function, reads the same value.
#[async_trait]
pub trait SettingStore: Send + Sync {
    /// The setting `name`; the first caller stores `initial`. Two callers racing to
    /// make it get the same value: the one stored first.
    async fn setting_or_init(&self, name: &str, initial: String) -> PortResult<String>;
}

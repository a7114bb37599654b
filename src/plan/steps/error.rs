//! Why a step could not be prepared or run. The message is the same line a user always saw;
//! the variant is what the engine decides on (a link whose old index is taken is recreated
//! with a new one on [`StepError::Exists`], never by matching the text).

use crate::netlink::query::{nl_code, nl_err};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The object to create is there already (EEXIST).
    #[error("{0}")]
    Exists(String),
    /// The object to change is not there (ENOENT, ENODEV).
    #[error("{0}")]
    Missing(String),
    /// The object is in use (EBUSY).
    #[error("{0}")]
    Busy(String),
    /// Any other error number the kernel answered with.
    #[error("{message}")]
    Kernel { errno: i32, message: String },
    /// Everything else: a tool that failed, a file that could not be read, a refusal.
    #[error("{0}")]
    Other(String),
}

impl StepError {
    /// A netlink request that failed: `what` (`cannot add route … in NS`), then the kernel's
    /// reason, classified by its error number.
    pub fn kernel(what: impl std::fmt::Display, e: rtnetlink::Error) -> StepError {
        let errno = nl_code(&e);
        let message = format!("{what}: {}", nl_err(e));
        match errno {
            Some(libc::EEXIST) => StepError::Exists(message),
            Some(libc::ENOENT | libc::ENODEV) => StepError::Missing(message),
            Some(libc::EBUSY) => StepError::Busy(message),
            Some(errno) => StepError::Kernel { errno, message },
            None => StepError::Other(message),
        }
    }
}

/// The plan engine's helpers (netns entry, iptables, files) report in words.
impl From<String> for StepError {
    fn from(message: String) -> StepError {
        StepError::Other(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_errors_keep_their_text_and_are_classified() {
        let mut msg = netlink_packet_core::ErrorMessage::default();
        msg.code = std::num::NonZeroI32::new(-libc::EEXIST);
        let e = StepError::kernel(
            "cannot create bridge br0 in red",
            rtnetlink::Error::NetlinkError(msg),
        );
        assert!(matches!(e, StepError::Exists(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "cannot create bridge br0 in red: File exists (os error 17)"
        );
        let e: StepError = String::from("iptables failed").into();
        assert_eq!(e.to_string(), "iptables failed");
    }
}

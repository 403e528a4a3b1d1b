/// Everything that can go wrong when framing, parsing or encoding MSNP data.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    #[error("command line longer than {limit} bytes")]
    LineTooLong { limit: usize },

    #[error("bad command name {0:?}: expected 3 upper-case ASCII letters or 3 digits")]
    BadCommandName(String),

    #[error("bad payload length {0:?}: not a decimal number")]
    BadPayloadLength(String),

    #[error("payload of {len} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge { len: usize, limit: usize },

    #[error("data is not valid UTF-8")]
    NotUtf8,

    #[error("bad parameter {0:?}: empty, or contains a space or control character")]
    BadParameter(String),

    #[error("not an invitation: content type is not text/x-msmsgsinvite")]
    NotAnInvitation,

    #[error("invitation field {0:?} cannot be encoded: empty name, ':' in the name, or CR/LF in the name or value")]
    BadField(String),

    #[error("required field {0} is missing")]
    MissingField(&'static str),
}

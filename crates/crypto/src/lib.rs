//! End-to-end cryptography for the KX exchange: CMS sign + encrypt, the PIN key store and the
//! society certificate authority.

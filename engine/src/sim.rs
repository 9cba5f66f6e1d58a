//! A synthetic population with ground truth, and baseline policies, so that
//! learning claims are shown against known truth.

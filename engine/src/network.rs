//! The idiographic lagged process network: a VAR(1) over the person's process
//! poles and well-being, kept as incremental sufficient statistics and
//! estimated with ridge shrinkage toward the population network (idionomic
//! pooling). With shrinkage 0 it reproduces ordinary least squares.

//! The desktop shell: builder, plugins, managed state and one-line commands over `engine::Console`.

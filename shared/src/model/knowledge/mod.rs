//! The knowledge base: articles a team writes once (FAQs, guides, troubleshooting), shown
//! to customers in the help center and on their channels, and to agents beside a
//! conversation; and the search that finds them from a question as customers write it.

mod article;
mod counts;
mod index;
mod markdown;
mod terms;

pub use article::{Article, ArticleStatus, MAX_ARTICLE_CHARS, normalize_slug};
pub use counts::Counted;
pub use index::{Document, Hit, IndexedArticle, KnowledgeIndex};
pub use markdown::{plain_text, render_markdown, reply_text, summary_of};
pub use terms::{query_terms, search_terms};

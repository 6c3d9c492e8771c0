// Switchboard inbox: the browser client of the support agents' web inbox.
// Plain DOM, no dependencies. Every piece of data is put on the page as text.
'use strict';
(() => {
const L = document.documentElement.lang === 'fa' ? 'fa' : 'en';

// ---------------------------------------------------------------- words
const WORDS = {
  en: {
    skip: 'Skip to content', loading: 'Loading…', signout: 'Sign out', shortcuts: 'Keyboard shortcuts',
    views: 'Views', view_mine: 'Mine', view_unassigned: 'Unassigned', view_all: 'All',
    search: 'Search messages', status: 'Status', channel: 'Channel', priority: 'Priority', sort: 'Order',
    waiting_only: 'Only those waiting for us', admin: 'Admin', view_dead_letters: 'Dead letters',
    view_agents: 'Agents', view_sessions: 'Sessions', view_teams: 'Teams', dismiss: 'Dismiss',
    signin_title: 'Sign in to the inbox', email: 'Email', password: 'Password', signin: 'Sign in',
    signing_in: 'Signing in…', signin_missing: 'Enter your email and password.', file: 'file', list_empty: 'No conversations here.', load_more: 'Load more',
    pick_conversation: 'Pick a conversation from the list.', back: '← Conversations', contact: 'Contact',
    details: 'Details', assignee: 'Assignee', tags: 'Tags', tags_hint: 'Comma-separated; saved when you leave the box.',
    resolve: 'Resolve', reopen: 'Reopen', mark_pending: 'Pending', snooze_for: 'Snooze for', snooze: 'Snooze',
    timeline: 'Conversation timeline', compose_mode: 'Write a', mode_reply: 'Reply', mode_note: 'Note',
    via: 'Send by', reply_label: 'Reply to the customer', note_label: 'Private note (only agents see it)',
    send_hint: 'Ctrl+Enter sends', send: 'Send', add_note: 'Add note', sending: 'Sending…', close: 'Close',
    merge_with: 'Merge with…', merge_input_label: 'Contact id, name, email or phone',
    merge_results: 'Matching contacts', merge_start: 'Merge…', merge_title: 'Merge two contacts',
    merge_explain: 'Both become one contact: every identity, conversation and message is kept. The other one is gone afterwards.',
    merge_which: 'Which contact stays?', cancel: 'Cancel', merge_confirm: 'Merge',
    lang_other: 'فارسی',
    status_open: 'Open', status_pending: 'Pending', status_snoozed: 'Snoozed', status_resolved: 'Resolved', status_all: 'Any status',
    ch_web: 'Web', ch_email: 'Email', ch_telegram: 'Telegram', ch_sms: 'SMS', ch_voice: 'Voice',
    any_channel: 'Any channel', any_priority: 'Any priority',
    prio_low: 'Low', prio_normal: 'Normal', prio_high: 'High', prio_urgent: 'Urgent',
    sort_activity: 'Latest activity', sort_due: 'Soonest due',
    unassigned: 'Unassigned', me: 'Me ({name})', another_agent: 'Another agent', agent_unknown: 'Agent',
    inbound: 'inbound', outbound: 'outbound', customer: 'Customer', system: 'Switchboard',
    ds_received: 'received', ds_queued: 'queued', ds_sending: 'sending', ds_sent: 'sent', ds_delivered: 'delivered', ds_failed: 'failed',
    private_note: 'Private note', quoted: 'Quoted history', original: 'Download the original email',
    att_pending: 'not fetched yet', att_failed: 'could not be fetched', edited: 'edited', image: 'Image',
    proven: '✓ proven', claimed: 'claimed (unverified)', typed: 'typed on a form',
    id_email: 'Email', id_phone: 'Phone', id_telegram: 'Telegram', id_web_visitor: 'Web visitor',
    identities: 'Identities', other_convs: 'Other conversations', none_other: 'No other conversations.',
    vip: 'VIP', blocked_on: 'Blocked us on {channel}', maybe_same: 'Maybe the same person ({identity})',
    review_merge: 'Review…', unnamed: 'Unnamed contact',
    merge_this: 'This contact: {name}', merge_other: 'The other: {name}', merged: 'Contacts merged.',
    fold_offer: '{n} open conversations of this contact can become one.', fold_do: 'Fold them into the latest',
    folded: 'Conversations folded.', merge_need_id: 'Type a contact id (ct_…) or pick one from the results.',
    merge_self: 'That is this same contact.', no_matches: 'No contacts match.',
    new_message_from: 'New message from {name}', new_messages: '{n} new messages', new_badge: 'new',
    sla: 'SLA {rel}', waiting: 'Waiting for us', snoozed_until: 'Snoozed until {time}',
    reply_sent: 'Reply queued.', note_added: 'Note added.', empty_text: 'Write something first.', attach: 'Attach files',
    team_filter: 'Team', any_team: 'Any team', my_team: '{name} (mine)', tag_filter: 'Tag',
    password_button: 'Password', password_title: 'Your password',
    password_explain: 'Signed in by a one-time link? Leave the current password empty. Every session of yours ends: sign in again with the new one.',
    password_current: 'Current password', password_new: 'New password (12 characters or more)', password_save: 'Set password',
    password_short: 'A password has 12 to 256 characters.',
    ch_blocked: '{channel}: the customer blocked us there.',
    ch_no_address: '{channel}: no address the customer proved or wrote from.',
    ch_default: 'The customer last wrote by {channel}.', unusable: 'unavailable',
    network_error: 'Cannot reach the server. Check the connection and try again.',
    error_status: 'The request failed ({status}).', retry_after: 'Try again in {s} seconds.',
    signed_out: 'You are signed out. Sign in again to go on.', saved: 'Saved.',
    showing: '{n} shown', loading_more: 'Loading…', team: 'Team {name}', no_team: 'no team',
    kb_jk: 'Next / previous conversation', kb_o: 'Open the selected conversation', kb_r: 'Write a reply',
    kb_n: 'Write a private note', kb_e: 'Resolve', kb_a: 'Assign', kb_slash: 'Search', kb_help: 'Show this help',
    kb_esc: 'Leave the box, close a dialog', kb_send: 'Send the reply or note',
    queue: 'Queue', queue_inbound: 'Inbound', queue_outbound: 'Outbound', queue_webhooks: 'Webhooks',
    col_id: 'Id', col_when: 'Queued at', col_attempts: 'Attempts', col_error: 'Last error', col_body: 'Body',
    col_name: 'Name', col_email: 'Email', col_role: 'Role', col_availability: 'Availability', col_last_seen: 'Last seen',
    col_agent: 'Agent', col_created: 'Created', col_expires: 'Expires', col_user_agent: 'Browser', col_actions: 'Actions',
    col_assignment: 'Assignment', col_bot: 'Bot answers first', team_bot: 'The bot answers {name}’s new questions first', replay: 'Replay', replayed: 'Queued again.', revoke: 'Revoke', revoked: 'Session revoked.',
    role_admin: 'Admin', role_agent: 'Agent', av_available: 'Available', av_away: 'Away', av_offline: 'Offline',
    create_agent: 'Add an agent', create: 'Create', api_key_once: 'Copy this API key now: it is shown only this once.',
    copy: 'Copy', copied: 'Copied.', nothing: 'Nothing here.', show_body: 'Show',
    as_round_robin: 'Round robin', as_least_loaded: 'Least loaded', never: 'never',
    ev_created: 'Conversation started', ev_assigned: 'Assigned to {to}', ev_unassigned: 'Assignment removed',
    ev_status_changed: 'Status changed from {from} to {to}', ev_reopened: 'Reopened', ev_snoozed: 'Snoozed until {until}',
    ev_priority_changed: 'Priority changed from {from} to {to}', ev_team_changed: 'Team changed to {to}',
    ev_tags_changed: 'Tags changed: {changes}', ev_contacts_merged: 'Contacts merged',
    ev_conversation_folded: 'Another conversation was folded into this one',
    ev_merge_suggested: 'Maybe the same person as another contact ({identity})',
    ev_channel_blocked: 'The customer blocked us on {channel}', ev_channel_unblocked: 'The customer unblocked us on {channel}',
    ev_identity_proven: 'Identity proven: {identity}', ev_rule_applied: 'Rule applied: {name}',
    ev_sla_breached: 'SLA breached: {target}', ev_sla_due_soon: 'SLA due soon: {target}, {due}',
    ev_rule_note: 'Rule note: {text}', ev_agents_called: 'Rule “{name}” called {n} agents',
    ev_sla_policy_applied: 'Service level policy applied', ev_survey_sent: 'Satisfaction survey sent by {channel}',
    ev_csat_rated: 'The customer rated {rating} out of 5', ev_incident_linked: 'Linked to the incident “{title}”',
    ev_incident_unlinked: 'Unlinked from its incident', by: 'by {name}',
    t_first_response: 'first response', t_next_response: 'next response', t_resolution: 'resolution',
    sn_1h: '1 hour', sn_4h: '4 hours', sn_tomorrow: 'Tomorrow 9:00', sn_3d: '3 days', sn_1w: '1 week',
    view_incidents: 'Incidents', view_reports: 'Reports',
    inc_proposed: 'Proposed', inc_active: 'Active', inc_resolved: 'Resolved', inc_back: '← Incidents',
    inc_texts: 'What customers are told', inc_terms: 'Match terms',
    inc_terms_hint: 'Words or phrases, comma-separated, 3 characters or more.',
    inc_no_terms: 'None: it holds only conversations linked by hand.', lang_en: 'English', lang_fa: 'Persian',
    inc_text: 'Status text in {lang}', inc_title: 'Title',
    inc_save: 'Save texts', inc_accept: 'Accept', inc_accepted: 'Incident accepted: it is active now.',
    inc_updates: 'Updates', inc_final: 'final update',
    inc_progress: '{queued} written, {sent} sent, {failed} failed', inc_update_label: 'Update for every linked customer',
    inc_resolve: 'Resolve with this update', inc_post: 'Post update', inc_posted: 'Update posted: it is going out.',
    inc_conversations: 'Linked conversations', inc_declare: 'Declare an incident', inc_declared: 'Incident declared.',
    inc_need: 'Give a title and a status text in at least one language.', inc_resolved_at: 'resolved {time}',
    rep_range: 'Period', rep_7: 'Last 7 days', rep_30: 'Last 30 days', rep_csv: 'Download CSV',
    rep_mine: 'Your own numbers', rep_all: 'Everyone’s numbers', rep_prev: 'Previous period: {v}', rep_by_agent: 'By agent',
    fig_conversations: 'Conversations', fig_incoming: 'Incoming messages', fig_outgoing: 'Outgoing messages',
    fig_resolutions: 'Resolutions', fig_reopened: 'Reopened', fig_fcr: 'First-contact resolution',
    fig_first_median: 'First response (median)', fig_first_p90: 'First response (90th percentile)',
    fig_resolution_median: 'Resolution time (median)', fig_csat: 'Satisfied customers (CSAT)', fig_rating: 'Average rating',
    csat_answers: '{n} of {m} surveys answered', rating_of: '{v} of 5',
    dur_s: '{n} s', dur_min: '{n} min', dur_h: '{n} h', dur_d: '{n} days',
    view_knowledge: 'Knowledge', kb_articles: 'Articles', kb_new: 'New article', kb_back: '← Articles',
    kb_draft: 'Draft', kb_published: 'Published', kb_language: 'Language', kb_any_language: 'Any language',
    kb_title: 'Title', kb_slug: 'Address (slug)', kb_slug_hint: 'Lower-case Latin letters, digits and “-”. The page’s address: /help/<slug>',
    kb_category: 'Category', kb_tags_hint: 'Comma-separated.', kb_body: 'Text (Markdown)',
    kb_status_hint: 'Agents write drafts; only an admin publishes.', kb_save: 'Save', kb_delete: 'Delete',
    kb_delete_confirm: 'Delete the article “{title}” for good?', kb_deleted: 'Article deleted.', kb_view: 'View in help center',
    kb_revisions: 'Revisions', kb_revision: 'Revision {n}', kb_reload: 'Reload',
    kb_conflict: 'Someone saved this article since you opened it. Reload it to see their version (copy your changes first).',
    kb_need: 'Give a title, an address of lower-case Latin letters, digits and “-”, and a text.',
    kb_fig_self_served: 'Answered without an agent', kb_fig_deflection: 'Deflection rate', kb_fig_searches: 'Searches',
    kb_fig_unanswered: 'Searches with no answer', kb_write_next: 'What to write next: searches with no answer', kb_times: '{n}×',
    sg_title: 'Suggested answers', sg_articles: 'Articles', sg_similar: 'Similar resolved conversations', sg_tags: 'Suggested tags',
    sg_use_article: 'Use as reply', sg_use_answer: 'Use this answer', sg_open: 'Open the conversation', sg_add_tag: 'Add the tag {tag}',
    sg_question: 'Question:', sg_answer: 'Answer:', sg_confident: 'close match', sg_none: 'Nothing to suggest for this conversation.',
    sg_put: 'Put in the reply box: read it over, then send.', sg_note_open: 'The box holds a note: add or clear it first.',
    sg_ai_draft: 'Draft a reply with the model', sg_ai_hint: 'Written by the language model from these articles only. Nothing is sent: read and correct it first.',
    sg_ai_working: 'The model is writing…',
  },
  fa: {
    skip: 'رفتن به محتوا', loading: 'در حال بارگذاری…', signout: 'خروج', shortcuts: 'میان‌برهای صفحه‌کلید',
    views: 'نماها', view_mine: 'مال من', view_unassigned: 'واگذارنشده', view_all: 'همه',
    search: 'جست‌وجو در پیام‌ها', status: 'وضعیت', channel: 'کانال', priority: 'اولویت', sort: 'ترتیب',
    waiting_only: 'فقط آن‌ها که منتظر ما هستند', admin: 'مدیریت', view_dead_letters: 'پیام‌های ناموفق',
    view_agents: 'کارشناسان', view_sessions: 'نشست‌ها', view_teams: 'تیم‌ها', dismiss: 'بستن پیام',
    signin_title: 'ورود به صندوق پشتیبانی', email: 'ایمیل', password: 'گذرواژه', signin: 'ورود',
    signing_in: 'در حال ورود…', signin_missing: 'ایمیل و گذرواژهٔ خود را وارد کنید.', file: 'فایل', list_empty: 'گفت‌وگویی اینجا نیست.', load_more: 'بیشتر',
    pick_conversation: 'یک گفت‌وگو را از فهرست انتخاب کنید.', back: '→ گفت‌وگوها', contact: 'مخاطب',
    details: 'جزئیات', assignee: 'کارشناس', tags: 'برچسب‌ها', tags_hint: 'با ویرگول جدا کنید؛ با بیرون رفتن از کادر ذخیره می‌شود.',
    resolve: 'حل شد', reopen: 'بازگشایی', mark_pending: 'در انتظار', snooze_for: 'تعویق به مدت', snooze: 'تعویق',
    timeline: 'روند گفت‌وگو', compose_mode: 'نوشتن', mode_reply: 'پاسخ', mode_note: 'یادداشت',
    via: 'ارسال با', reply_label: 'پاسخ به مشتری', note_label: 'یادداشت خصوصی (فقط کارشناسان می‌بینند)',
    send_hint: 'Ctrl+Enter می‌فرستد', send: 'ارسال', add_note: 'افزودن یادداشت', sending: 'در حال ارسال…', close: 'بستن',
    merge_with: 'ادغام با…', merge_input_label: 'شناسه، نام، ایمیل یا تلفن مخاطب',
    merge_results: 'مخاطبان یافته‌شده', merge_start: 'ادغام…', merge_title: 'ادغام دو مخاطب',
    merge_explain: 'هر دو یک مخاطب می‌شوند و همهٔ هویت‌ها، گفت‌وگوها و پیام‌ها می‌مانند. مخاطب دیگر پس از آن از میان می‌رود.',
    merge_which: 'کدام مخاطب بماند؟', cancel: 'انصراف', merge_confirm: 'ادغام',
    lang_other: 'English',
    status_open: 'باز', status_pending: 'در انتظار', status_snoozed: 'به تعویق افتاده', status_resolved: 'حل‌شده', status_all: 'همهٔ وضعیت‌ها',
    ch_web: 'وب', ch_email: 'ایمیل', ch_telegram: 'تلگرام', ch_sms: 'پیامک', ch_voice: 'تماس تلفنی',
    any_channel: 'همهٔ کانال‌ها', any_priority: 'همهٔ اولویت‌ها',
    prio_low: 'کم', prio_normal: 'عادی', prio_high: 'زیاد', prio_urgent: 'فوری',
    sort_activity: 'تازه‌ترین فعالیت', sort_due: 'نزدیک‌ترین مهلت',
    unassigned: 'واگذارنشده', me: 'خودم ({name})', another_agent: 'کارشناسی دیگر', agent_unknown: 'کارشناس',
    inbound: 'دریافتی', outbound: 'ارسالی', customer: 'مشتری', system: 'Switchboard',
    ds_received: 'دریافت شد', ds_queued: 'در صف', ds_sending: 'در حال ارسال', ds_sent: 'فرستاده شد', ds_delivered: 'تحویل شد', ds_failed: 'ناموفق',
    private_note: 'یادداشت خصوصی', quoted: 'متن نقل‌شده', original: 'دریافت ایمیل اصلی',
    att_pending: 'هنوز دریافت نشده', att_failed: 'دریافت نشد', edited: 'ویرایش‌شده', image: 'تصویر',
    proven: '✓ تأییدشده', claimed: 'ادعاشده (تأییدنشده)', typed: 'در فرم نوشته شده',
    id_email: 'ایمیل', id_phone: 'تلفن', id_telegram: 'تلگرام', id_web_visitor: 'بازدیدکنندهٔ وب',
    identities: 'هویت‌ها', other_convs: 'گفت‌وگوهای دیگر', none_other: 'گفت‌وگوی دیگری نیست.',
    vip: 'ویژه', blocked_on: 'ما را در {channel} مسدود کرده', maybe_same: 'شاید همین شخص باشد ({identity})',
    review_merge: 'بررسی…', unnamed: 'مخاطب بی‌نام',
    merge_this: 'این مخاطب: {name}', merge_other: 'مخاطب دیگر: {name}', merged: 'مخاطب‌ها ادغام شدند.',
    fold_offer: '{n} گفت‌وگوی باز این مخاطب می‌توانند یکی شوند.', fold_do: 'ادغام در تازه‌ترین',
    folded: 'گفت‌وگوها یکی شدند.', merge_need_id: 'شناسهٔ مخاطب (ct_…) را بنویسید یا یکی از نتیجه‌ها را برگزینید.',
    merge_self: 'این همان مخاطب است.', no_matches: 'مخاطبی پیدا نشد.',
    new_message_from: 'پیام تازه از {name}', new_messages: '{n} پیام تازه', new_badge: 'تازه',
    sla: 'مهلت {rel}', waiting: 'منتظر پاسخ ما', snoozed_until: 'به تعویق تا {time}',
    reply_sent: 'پاسخ در صف ارسال است.', note_added: 'یادداشت افزوده شد.', empty_text: 'اول چیزی بنویسید.', attach: 'پیوست فایل',
    team_filter: 'تیم', any_team: 'همهٔ تیم‌ها', my_team: '{name} (تیم من)', tag_filter: 'برچسب',
    password_button: 'گذرواژه', password_title: 'گذرواژهٔ شما',
    password_explain: 'اگر با پیوند یک‌بارمصرف وارد شده‌اید، گذرواژهٔ کنونی را خالی بگذارید. همهٔ نشست‌های شما پایان می‌یابد: با گذرواژهٔ تازه دوباره وارد شوید.',
    password_current: 'گذرواژهٔ کنونی', password_new: 'گذرواژهٔ تازه (دست‌کم ۱۲ نویسه)', password_save: 'تنظیم گذرواژه',
    password_short: 'گذرواژه باید ۱۲ تا ۲۵۶ نویسه باشد.',
    ch_blocked: '{channel}: مشتری ما را آنجا مسدود کرده است.',
    ch_no_address: '{channel}: نشانی‌ای که مشتری تأیید کرده یا از آن نوشته باشد نداریم.',
    ch_default: 'مشتری آخرین بار با {channel} نوشته است.', unusable: 'در دسترس نیست',
    network_error: 'به سرور دسترسی نیست. اتصال را بررسی کنید و دوباره تلاش کنید.',
    error_status: 'درخواست انجام نشد ({status}).', retry_after: '{s} ثانیهٔ دیگر دوباره تلاش کنید.',
    signed_out: 'از حساب بیرون آمده‌اید. برای ادامه دوباره وارد شوید.', saved: 'ذخیره شد.',
    showing: '{n} مورد', loading_more: 'در حال بارگذاری…', team: 'تیم {name}', no_team: 'بدون تیم',
    kb_jk: 'گفت‌وگوی بعدی / قبلی', kb_o: 'باز کردن گفت‌وگوی انتخاب‌شده', kb_r: 'نوشتن پاسخ',
    kb_n: 'نوشتن یادداشت خصوصی', kb_e: 'حل شد', kb_a: 'واگذاری', kb_slash: 'جست‌وجو', kb_help: 'نمایش این راهنما',
    kb_esc: 'بیرون رفتن از کادر، بستن پنجره', kb_send: 'فرستادن پاسخ یا یادداشت',
    queue: 'صف', queue_inbound: 'ورودی', queue_outbound: 'خروجی', queue_webhooks: 'وب‌هوک‌ها',
    col_id: 'شناسه', col_when: 'زمان ورود به صف', col_attempts: 'تلاش‌ها', col_error: 'آخرین خطا', col_body: 'متن',
    col_name: 'نام', col_email: 'ایمیل', col_role: 'نقش', col_availability: 'دسترس‌پذیری', col_last_seen: 'آخرین حضور',
    col_agent: 'کارشناس', col_created: 'ایجاد', col_expires: 'انقضا', col_user_agent: 'مرورگر', col_actions: 'کارها',
    col_assignment: 'شیوهٔ واگذاری', col_bot: 'پاسخ نخست ربات', team_bot: 'ربات به پرسش‌های تازهٔ {name} نخست پاسخ دهد', replay: 'اجرای دوباره', replayed: 'دوباره در صف قرار گرفت.', revoke: 'لغو', revoked: 'نشست لغو شد.',
    role_admin: 'مدیر', role_agent: 'کارشناس', av_available: 'در دسترس', av_away: 'دور از میز', av_offline: 'آفلاین',
    create_agent: 'افزودن کارشناس', create: 'ایجاد', api_key_once: 'این کلید API را همین حالا بردارید: فقط همین یک بار نشان داده می‌شود.',
    copy: 'رونوشت', copied: 'رونوشت برداشته شد.', nothing: 'چیزی اینجا نیست.', show_body: 'نمایش',
    as_round_robin: 'نوبتی', as_least_loaded: 'کم‌کارترین', never: 'هرگز',
    ev_created: 'گفت‌وگو آغاز شد', ev_assigned: 'به {to} واگذار شد', ev_unassigned: 'واگذاری برداشته شد',
    ev_status_changed: 'وضعیت از {from} به {to} تغییر کرد', ev_reopened: 'دوباره باز شد', ev_snoozed: 'تا {until} به تعویق افتاد',
    ev_priority_changed: 'اولویت از {from} به {to} تغییر کرد', ev_team_changed: 'تیم به {to} تغییر کرد',
    ev_tags_changed: 'برچسب‌ها تغییر کرد: {changes}', ev_contacts_merged: 'مخاطب‌ها ادغام شدند',
    ev_conversation_folded: 'گفت‌وگوی دیگری در این گفت‌وگو ادغام شد',
    ev_merge_suggested: 'شاید همان مخاطب دیگری باشد ({identity})',
    ev_channel_blocked: 'مشتری ما را در {channel} مسدود کرد', ev_channel_unblocked: 'مشتری مسدودیت ما را در {channel} برداشت',
    ev_identity_proven: 'هویت تأیید شد: {identity}', ev_rule_applied: 'قاعده اجرا شد: {name}',
    ev_sla_breached: 'مهلت {target} گذشت', ev_sla_due_soon: 'مهلت {target} نزدیک است، {due}',
    ev_rule_note: 'یادداشت قاعده: {text}', ev_agents_called: 'قاعدهٔ «{name}» {n} کارشناس را خبر کرد',
    ev_sla_policy_applied: 'سیاست سطح خدمت اعمال شد', ev_survey_sent: 'نظرسنجی رضایت با {channel} فرستاده شد',
    ev_csat_rated: 'مشتری امتیاز {rating} از ۵ داد', ev_incident_linked: 'به رخداد «{title}» پیوند خورد',
    ev_incident_unlinked: 'پیوند با رخداد برداشته شد', by: 'به دست {name}',
    t_first_response: 'نخستین پاسخ', t_next_response: 'پاسخ بعدی', t_resolution: 'حل',
    sn_1h: '۱ ساعت', sn_4h: '۴ ساعت', sn_tomorrow: 'فردا ساعت ۹', sn_3d: '۳ روز', sn_1w: '۱ هفته',
    view_incidents: 'رخدادها', view_reports: 'گزارش‌ها',
    inc_proposed: 'پیشنهادی', inc_active: 'فعال', inc_resolved: 'برطرف‌شده', inc_back: '→ رخدادها',
    inc_texts: 'آنچه به مشتریان گفته می‌شود', inc_terms: 'واژه‌های تطبیق',
    inc_terms_hint: 'واژه‌ها یا عبارت‌ها را با ویرگول جدا کنید؛ هر کدام دست‌کم ۳ نویسه.',
    inc_no_terms: 'ندارد: فقط گفت‌وگوهایی که دستی پیوند خورده‌اند.', lang_en: 'انگلیسی', lang_fa: 'فارسی',
    inc_text: 'متن وضعیت به {lang}', inc_title: 'عنوان',
    inc_save: 'ذخیرهٔ متن‌ها', inc_accept: 'پذیرفتن', inc_accepted: 'رخداد پذیرفته شد و اکنون فعال است.',
    inc_updates: 'به‌روزرسانی‌ها', inc_final: 'به‌روزرسانی پایانی',
    inc_progress: '{queued} نوشته‌شده، {sent} فرستاده‌شده، {failed} ناموفق', inc_update_label: 'به‌روزرسانی برای همهٔ مشتریان پیوندخورده',
    inc_resolve: 'رخداد با همین به‌روزرسانی برطرف شود', inc_post: 'فرستادن به‌روزرسانی', inc_posted: 'به‌روزرسانی ثبت شد و در حال ارسال است.',
    inc_conversations: 'گفت‌وگوهای پیوندخورده', inc_declare: 'اعلام رخداد', inc_declared: 'رخداد اعلام شد.',
    inc_need: 'عنوان و متن وضعیت را دست‌کم به یک زبان بنویسید.', inc_resolved_at: 'برطرف‌شده در {time}',
    rep_range: 'بازه', rep_7: '۷ روز گذشته', rep_30: '۳۰ روز گذشته', rep_csv: 'دریافت فایل CSV',
    rep_mine: 'آمار خود شما', rep_all: 'آمار همهٔ کارشناسان', rep_prev: 'دورهٔ پیش: {v}', rep_by_agent: 'به تفکیک کارشناس',
    fig_conversations: 'گفت‌وگوها', fig_incoming: 'پیام‌های دریافتی', fig_outgoing: 'پیام‌های ارسالی',
    fig_resolutions: 'حل‌شده‌ها', fig_reopened: 'دوباره بازشده‌ها', fig_fcr: 'حل در نخستین تماس',
    fig_first_median: 'نخستین پاسخ (میانه)', fig_first_p90: 'نخستین پاسخ (صدک ۹۰)',
    fig_resolution_median: 'زمان حل (میانه)', fig_csat: 'رضایت مشتریان (CSAT)', fig_rating: 'میانگین امتیاز',
    csat_answers: '{n} پاسخ از {m} نظرسنجی', rating_of: '{v} از ۵',
    dur_s: '{n} ثانیه', dur_min: '{n} دقیقه', dur_h: '{n} ساعت', dur_d: '{n} روز',
    view_knowledge: 'پایگاه دانش', kb_articles: 'مقاله‌ها', kb_new: 'مقالهٔ تازه', kb_back: '→ مقاله‌ها',
    kb_draft: 'پیش‌نویس', kb_published: 'منتشرشده', kb_language: 'زبان', kb_any_language: 'همهٔ زبان‌ها',
    kb_title: 'عنوان', kb_slug: 'نشانی (slug)', kb_slug_hint: 'حروف کوچک لاتین، رقم و «-». نشانی صفحه: \u2066/help/<slug>\u2069',
    kb_category: 'دسته', kb_tags_hint: 'با ویرگول جدا کنید.', kb_body: 'متن (Markdown)',
    kb_status_hint: 'کارشناسان پیش‌نویس می‌نویسند؛ فقط مدیر منتشر می‌کند.', kb_save: 'ذخیره', kb_delete: 'حذف',
    kb_delete_confirm: 'مقالهٔ «{title}» برای همیشه حذف شود؟', kb_deleted: 'مقاله حذف شد.', kb_view: 'دیدن در مرکز راهنما',
    kb_revisions: 'نسخه‌ها', kb_revision: 'نسخهٔ {n}', kb_reload: 'بارگذاری دوباره',
    kb_conflict: 'کسی پس از باز کردن شما این مقاله را ذخیره کرده است. برای دیدن نسخهٔ او دوباره بارگذاری کنید (اول تغییرهای خود را رونوشت کنید).',
    kb_need: 'عنوان، نشانی‌ای از حروف کوچک لاتین و رقم و «-»، و متن را بنویسید.',
    kb_fig_self_served: 'پاسخ‌گرفته بدون کارشناس', kb_fig_deflection: 'نرخ پاسخ بی‌نیاز از کارشناس', kb_fig_searches: 'جست‌وجوها',
    kb_fig_unanswered: 'جست‌وجوهای بی‌پاسخ', kb_write_next: 'چه بنویسیم: جست‌وجوهای بی‌پاسخ', kb_times: '{n} بار',
    sg_title: 'پاسخ‌های پیشنهادی', sg_articles: 'مقاله‌ها', sg_similar: 'گفت‌وگوهای حل‌شدهٔ مشابه', sg_tags: 'برچسب‌های پیشنهادی',
    sg_use_article: 'به‌کار بردن در پاسخ', sg_use_answer: 'به‌کار بردن این پاسخ', sg_open: 'باز کردن گفت‌وگو', sg_add_tag: 'افزودن برچسب {tag}',
    sg_question: 'پرسش:', sg_answer: 'پاسخ:', sg_confident: 'تطابق خوب', sg_none: 'پیشنهادی برای این گفت‌وگو نیست.',
    sg_put: 'در کادر پاسخ گذاشته شد: بازخوانی کنید و بفرستید.', sg_note_open: 'در کادر یادداشتی هست: اول آن را بیفزایید یا پاک کنید.',
    sg_ai_draft: 'نوشتن پیش‌نویس پاسخ با مدل زبانی', sg_ai_hint: 'مدل زبانی آن را فقط از همین مقاله‌ها می‌نویسد و چیزی فرستاده نمی‌شود: پیش از فرستادن بخوانید و درستش کنید.',
    sg_ai_working: 'مدل در حال نوشتن است…',
  },
};

const NUM = new Intl.NumberFormat(L === 'fa' ? 'fa-IR' : 'en-GB');
const t = (key, vars) => {
  let s = WORDS[L][key] ?? WORDS.en[key] ?? key;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (_, n) => {
      const v = vars[n];
      if (typeof v === 'number') return NUM.format(v);
      // In Persian, a name or an address in Latin letters keeps its own direction.
      return L === 'fa' && v ? `\u2068${v}\u2069` : (v ?? '');
    });
  }
  return s;
};

// ---------------------------------------------------------------- time
const LOCALE = L === 'fa' ? 'fa-IR-u-ca-persian' : 'en-GB';
const fmtFull = new Intl.DateTimeFormat(LOCALE, { dateStyle: 'medium', timeStyle: 'short' });
const fmtTime = new Intl.DateTimeFormat(LOCALE, { hour: '2-digit', minute: '2-digit' });
const fmtDay = new Intl.DateTimeFormat(LOCALE, { month: 'short', day: 'numeric' });
const fmtDayYear = new Intl.DateTimeFormat(LOCALE, { year: 'numeric', month: 'short', day: 'numeric' });
const fmtRel = new Intl.RelativeTimeFormat(L === 'fa' ? 'fa' : 'en', { numeric: 'auto' });

const toDate = (iso) => {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
};
const fullTime = (iso) => {
  const d = toDate(iso);
  return d ? fmtFull.format(d) : '';
};
const shortTime = (iso) => {
  const d = toDate(iso);
  if (!d) return '';
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return fmtTime.format(d);
  return (d.getFullYear() === now.getFullYear() ? fmtDay : fmtDayYear).format(d);
};
const relTime = (iso) => {
  const d = toDate(iso);
  if (!d) return '';
  const secs = Math.round((d.getTime() - Date.now()) / 1000);
  const abs = Math.abs(secs);
  if (abs < 60) return fmtRel.format(Math.round(secs), 'second');
  if (abs < 3600) return fmtRel.format(Math.round(secs / 60), 'minute');
  if (abs < 86400) return fmtRel.format(Math.round(secs / 3600), 'hour');
  return fmtRel.format(Math.round(secs / 86400), 'day');
};
const timeEl = (iso, cls) => {
  const d = toDate(iso);
  if (!d) return null;
  return h('time', { datetime: d.toISOString(), title: fullTime(iso), class: cls }, shortTime(iso));
};
const sizeText = (n) => {
  if (typeof n !== 'number') return '';
  if (n < 1024) return NUM.format(n) + ' B';
  if (n < 1048576) return NUM.format(Math.round(n / 102.4) / 10) + ' KB';
  return NUM.format(Math.round(n / 104857.6) / 10) + ' MB';
};

// ---------------------------------------------------------------- DOM
const $ = (id) => document.getElementById(id);
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid == null || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}
const clear = (el) => { el.replaceChildren(); return el; };
const show = (el, yes) => { el.hidden = !yes; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const wide = () => window.matchMedia('(min-width: 900px)').matches;

function option(value, text, selected) {
  const o = h('option', { value }, text);
  if (selected) o.selected = true;
  return o;
}
function fillSelect(sel, pairs, value) {
  sel.replaceChildren(...pairs.map(([v, label, disabled]) => {
    const o = option(v, label);
    if (disabled) o.disabled = true;
    return o;
  }));
  if (value != null) sel.value = value;
}

// ---------------------------------------------------------------- state
const CHANNELS = ['web', 'email', 'telegram', 'sms', 'voice'];
const STATUSES = ['open', 'pending', 'snoozed', 'resolved'];
const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
const ADDRESS_KIND = { email: 'email', telegram: 'telegram', sms: 'phone', voice: 'phone' };
const S = {
  agent: null, csrf: '',
  view: null, admin: null,
  filters: { status: 'open', channel: '', priority: '', sort: '', q: '', waiting: false },
  rows: [], cursor: null, listToken: 0,
  openId: null, conv: null, contact: null, convToken: 0, contactToken: 0,
  itemEls: new Map(), items: [],
  agents: new Map(), teams: new Map(),
  drafts: new Map(), mode: 'reply', channelTouched: false,
  fresh: new Set(), seen: new Set(),
  liveGen: 0, liveAbort: null,
  dirty: { list: false, conv: false, contact: false, incidents: false }, announce: [], flushTimer: 0,
  mergeOther: null,
  incident: null, incState: '', reportDays: 7,
  article: null, kbFilter: { status: '', language: '' }, sug: new Map(),
};

// ---------------------------------------------------------------- messages to the agent
function showError(err) {
  const text = typeof err === 'string' ? err : errorText(err);
  $('alert-text').textContent = text;
  show($('alert'), true);
}
function clearError() {
  $('alert-text').textContent = '';
  show($('alert'), false);
}
let noticeTimer = 0;
function notice(text) {
  const el = $('notice');
  el.textContent = text;
  el.classList.add('on');
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { el.classList.remove('on'); el.textContent = ''; }, 4000);
}
function announce(text) {
  const el = $('live');
  el.textContent = '';
  setTimeout(() => { el.textContent = text; }, 60);
}

// ---------------------------------------------------------------- API
class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super((problem && (problem.detail || problem.title)) || '');
    this.status = status;
    this.problem = problem || {};
    this.retryAfter = retryAfter;
  }
}
function errorText(err) {
  if (!err) return t('network_error');
  if (err instanceof ApiError) {
    if (err.status === 0) return t('network_error');
    let text = err.message || t('error_status', { status: err.status });
    const ra = parseInt(err.retryAfter, 10);
    if (err.status === 429 && ra > 0 && !/\d/.test(err.message || '')) text += ' ' + t('retry_after', { s: ra });
    return text;
  }
  return err.message || t('network_error');
}
async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = S.csrf;
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (opts.signal) init.signal = opts.signal;
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, null);
  }
  let data = null;
  const type = res.headers.get('Content-Type') || '';
  if (res.status !== 204 && type.includes('json')) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (res.status === 403 && method !== 'GET' && !opts.retried && /csrf/i.test((data && data.detail) || '')) {
    try {
      const fresh = await api('GET', '/v1/session', undefined, { quiet: true });
      if (fresh && fresh.csrf_token) {
        S.csrf = fresh.csrf_token;
        return api(method, path, body, { ...opts, retried: true });
      }
    } catch { /* fall through to the first answer */ }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data, res.headers.get('Retry-After'));
    if (res.status === 401 && !opts.quiet) signedOut(true);
    throw err;
  }
  return data;
}
const enc = encodeURIComponent;
const items = (page) => (Array.isArray(page) ? page : (page && Array.isArray(page.items) ? page.items : []));

// ---------------------------------------------------------------- static text
function applyWords() {
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll('[data-t-aria]')) el.setAttribute('aria-label', t(el.dataset.tAria));
  const lt = $('lang-toggle');
  lt.textContent = t('lang_other');
  lt.setAttribute('lang', L === 'fa' ? 'en' : 'fa');
  fillSelect($('filter-status'), [...STATUSES.map((s) => [s, t('status_' + s)]), ['all', t('status_all')]], 'open');
  fillSelect($('filter-channel'), [['', t('any_channel')], ...CHANNELS.map((c) => [c, t('ch_' + c)])], '');
  fillSelect($('filter-priority'), [['', t('any_priority')], ...PRIORITIES.map((p) => [p, t('prio_' + p)])], '');
  fillSelect($('filter-sort'), [['', t('sort_activity')], ['due', t('sort_due')]], '');
  fillSelect($('priority-select'), PRIORITIES.map((p) => [p, t('prio_' + p)]), 'normal');
  fillSelect($('snooze-select'), ['1h', '4h', 'tomorrow', '3d', '1w'].map((s) => [s, t('sn_' + s)]), '4h');
  const keys = [
    ['j / k', 'kb_jk'], ['o / Enter', 'kb_o'], ['r', 'kb_r'], ['n', 'kb_n'], ['e', 'kb_e'], ['a', 'kb_a'],
    ['/', 'kb_slash'], ['?', 'kb_help'], ['Esc', 'kb_esc'], ['Ctrl+Enter', 'kb_send'],
  ];
  $('help-keys').replaceChildren(...keys.flatMap(([k, d]) => [
    h('dt', null, ...k.split(' ').map((p) => (p === '/' && k !== '/' ? ' / ' : h('kbd', { dir: 'ltr' }, p)))),
    h('dd', null, t(d)),
  ]));
}

// ---------------------------------------------------------------- sign in and out
function showSignin() {
  document.body.classList.remove('signed-in', 'has-conv', 'show-contact', 'admin-mode');
  show($('booting'), false);
  show($('signin'), true);
  for (const id of ['workspace', 'admin-pane', 'sidenav', 'contact-pane', 'signout', 'agent-name', 'help-open', 'password-open']) show($(id), false);
  document.title = 'Switchboard';
  const email = $('signin-email');
  if (!email.value) email.focus(); else $('signin-password').focus();
}

function signedOut(expired) {
  const was = !!S.agent;
  S.agent = null;
  S.csrf = '';
  S.liveGen++;
  if (S.liveAbort) S.liveAbort.abort();
  S.rows = []; S.cursor = null; S.view = null; S.openId = null; S.conv = null; S.contact = null;
  S.itemEls.clear(); S.fresh.clear(); S.drafts.clear(); S.sug.clear();
  clear($('conversation-list')); clear($('timeline')); clear($('contact-info')); clear($('admin-body'));
  $('reply-body').value = '';
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  showSignin();
  if (expired && was) showError(t('signed_out'));
}

async function signIn(ev) {
  ev.preventDefault();
  const email = $('signin-email').value.trim();
  const password = $('signin-password').value;
  const btn = $('signin-submit');
  clearError();
  if (!email || !password) {
    showError(t('signin_missing'));
    (!email ? $('signin-email') : $('signin-password')).focus();
    return;
  }
  btn.disabled = true;
  btn.textContent = t('signing_in');
  try {
    const r = await api('POST', '/v1/session', { email, password }, { quiet: true });
    $('signin-password').value = '';
    start(r, fetchFirstPage());
  } catch (err) {
    showError(err);
    $('signin-password').select();
  } finally {
    btn.disabled = false;
    btn.textContent = t('signin');
  }
}

async function signOut() {
  try {
    await api('DELETE', '/v1/session', undefined, { quiet: true });
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) { showError(err); return; }
  }
  signedOut(false);
}

function start(session, firstPage) {
  if (!session || !session.agent) { showSignin(); return; }
  S.agent = session.agent;
  S.csrf = session.csrf_token || '';
  S.agents.set(S.agent.id, S.agent);
  document.body.classList.add('signed-in');
  show($('booting'), false);
  show($('signin'), false);
  show($('sidenav'), true);
  show($('signout'), true);
  show($('help-open'), true);
  show($('password-open'), true);
  const name = $('agent-name');
  name.textContent = S.agent.name || S.agent.email || '';
  show(name, true);
  show($('admin-nav'), S.agent.role === 'admin');
  clearError();
  S.firstPage = firstPage;
  loadDirectory();
  S.liveGen++;
  live(S.liveGen);
  route();
}

// The team filter: the agent's own teams first, then every other.
function fillTeamFilter() {
  const mine = new Set((S.agent && S.agent.team_ids) || []);
  const teams = [...S.teams.values()].sort((a, b) => (mine.has(b.id) - mine.has(a.id)) || a.name.localeCompare(b.name));
  fillSelect($('filter-team'), [['', t('any_team')], ...teams.map((x) => [x.id, mine.has(x.id) ? t('my_team', { name: x.name }) : x.name])], S.filters.team || '');
}

async function loadDirectory() {
  const tasks = [api('GET', '/v1/teams').then((list) => {
    S.teams.clear();
    for (const team of items(list)) S.teams.set(team.id, team);
  })];
  // Every agent reads the directory: colleagues to assign to, and names in the timeline.
  tasks.push((async () => {
    let cursor = null;
    for (let n = 0; n < 10; n++) {
      const page = await api('GET', '/v1/agents?limit=100' + (cursor ? '&cursor=' + enc(cursor) : ''));
      for (const a of items(page)) S.agents.set(a.id, a);
      cursor = page && page.next_cursor;
      if (!cursor) break;
    }
  })());
  const results = await Promise.allSettled(tasks);
  if (!S.agent) return;
  fillTeamFilter();
  if (results.some((r) => r.status === 'fulfilled')) {
    fillAssignSelect();
    renderList();
    if (S.conv) renderConvHead();
  }
}
const agentName = (id) => {
  if (!id) return t('unassigned');
  const a = S.agents.get(id);
  if (a && a.name) return a.name;
  return t('agent_unknown');
};

// ---------------------------------------------------------------- routes
// Pages in the admin pane: the first four for admins only, the others for every agent.
const ADMIN_PAGES = ['dead-letters', 'agents', 'sessions', 'teams'];
function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  if (parts[0] === 'admin') {
    const admin = ADMIN_PAGES.includes(parts[1]) ? parts[1] : 'dead-letters';
    return { view: 'admin', admin, conv: null };
  }
  if (parts[0] === 'incidents' || parts[0] === 'reports') {
    return { view: 'admin', admin: parts[0], item: /^inc_[0-9a-z]{26}$/.test(parts[1] || '') ? parts[1] : null };
  }
  if (parts[0] === 'knowledge') {
    return { view: 'admin', admin: 'knowledge', item: /^ar_[0-9a-z]{10,40}$/.test(parts[1] || '') || parts[1] === 'new' ? parts[1] : null };
  }
  const view = ['mine', 'unassigned', 'all'].includes(parts[0]) ? parts[0] : 'mine';
  const conv = /^cv_[0-9a-z]{10,40}$/.test(parts[1] || '') ? parts[1] : null;
  return { view, conv };
}
function go(hash, replace) {
  if (location.hash === hash) { route(); return; }
  if (replace) { history.replaceState(null, '', hash); route(); } else location.hash = hash;
}
function route() {
  if (!S.agent) return;
  const r = parseHash();
  const at = r.view + '/' + (r.admin || '') + '/' + (r.conv || r.item || '');
  if (S.at && S.at !== at) clearError();
  S.at = at;
  for (const a of document.querySelectorAll('#sidenav a[data-view]')) {
    const on = r.view === 'admin' ? a.dataset.view === r.admin : a.dataset.view === r.view;
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  if (r.view === 'admin') {
    if (ADMIN_PAGES.includes(r.admin) && S.agent.role !== 'admin') { go('#/mine', true); return; }
    document.body.classList.add('admin-mode');
    document.body.classList.remove('has-conv', 'show-contact');
    show($('workspace'), false);
    show($('contact-pane'), false);
    show($('admin-pane'), true);
    if (S.openId) closeConversation();
    S.view = null;
    S.admin = r.admin;
    S.incident = r.admin === 'incidents' ? r.item || null : null;
    S.article = r.admin === 'knowledge' ? r.item || null : null;
    renderAdmin(r.admin);
    return;
  }
  document.body.classList.remove('admin-mode');
  show($('admin-pane'), false);
  show($('workspace'), true);
  S.admin = null;
  if (r.view !== S.view) {
    S.view = r.view;
    $('list-title').textContent = t('view_' + r.view);
    loadList('fresh');
  }
  if (r.conv !== S.openId) {
    if (r.conv) openConversation(r.conv); else closeConversation();
  }
}

// ---------------------------------------------------------------- conversation list
function listPath(cursor, limit) {
  const p = new URLSearchParams();
  if (S.view === 'mine') p.set('assignee', 'me');
  else if (S.view === 'unassigned') p.set('assignee', 'none');
  const f = S.filters;
  p.set('status', f.status || 'open');
  if (f.channel) p.set('channel', f.channel);
  if (f.priority) p.set('priority', f.priority);
  if (f.team) p.set('team', f.team);
  if (f.tag) p.set('tag', f.tag);
  if (f.sort) p.set('sort', f.sort);
  if (f.waiting) p.set('waiting', 'true');
  if (f.q) p.set('q', f.q);
  if (limit) p.set('limit', String(limit));
  if (cursor) p.set('cursor', cursor);
  return '/v1/conversations?' + p.toString();
}

// The first page, asked for while the session is still being checked.
function fetchFirstPage() {
  const r = parseHash();
  if (r.view === 'admin') return null;
  const saved = S.view;
  S.view = r.view;
  const path = listPath(null, 25);
  S.view = saved;
  return { path, promise: api('GET', path, undefined, { quiet: true }).catch((e) => e) };
}

async function loadList(mode) {
  const token = ++S.listToken;
  let path;
  if (mode === 'more') path = listPath(S.cursor, 25);
  else if (mode === 'keep') path = listPath(null, Math.min(100, Math.max(25, S.rows.length)));
  else path = listPath(null, 25);
  const more = $('list-more');
  if (mode === 'more') { more.disabled = true; more.textContent = t('loading_more'); }
  if (mode === 'fresh') $('conversation-list').setAttribute('aria-busy', 'true');
  try {
    let page;
    const first = S.firstPage;
    S.firstPage = null;
    if (mode === 'fresh' && first && first.path === path) {
      page = await first.promise;
      if (page instanceof Error) page = await api('GET', path);
    } else {
      page = await api('GET', path);
    }
    if (token !== S.listToken) return;
    const got = items(page);
    S.rows = mode === 'more' ? dedupe(S.rows.concat(got)) : got;
    S.cursor = (page && page.next_cursor) || null;
    renderList();
  } catch (err) {
    if (token === S.listToken && !(err instanceof ApiError && err.status === 401)) showError(err);
  } finally {
    if (token === S.listToken) {
      more.disabled = false;
      more.textContent = t('load_more');
      $('conversation-list').removeAttribute('aria-busy');
    }
  }
}
const dedupe = (rows) => {
  const seen = new Set();
  return rows.filter((r) => (r && r.id && !seen.has(r.id) ? (seen.add(r.id), true) : false));
};

function chip(text, cls, title) {
  return h('span', { class: 'chip ' + (cls || ''), title }, h('bdi', null, text));
}
function slaChip(sla) {
  if (!sla || !sla.due_at || !sla.urgency) return null;
  const urgency = String(sla.urgency);
  return chip(t('sla', { rel: relTime(sla.due_at) }), 'sla sla-' + urgency, fullTime(sla.due_at));
}

function rowContent(row) {
  const name = row.contact_name || t('unnamed');
  const chans = Array.isArray(row.channels) && row.channels.length ? row.channels : [row.channel].filter(Boolean);
  const fresh = S.fresh.has(row.id);
  return h('a', { href: '#/' + S.view + '/' + row.id, class: 'conv-link' },
    h('span', { class: 'row1' },
      h('span', { class: 'who' }, h('bdi', null, name)),
      fresh ? chip(t('new_badge'), 'new') : null,
      timeEl(row.updated_at, 'when')),
    row.subject ? h('span', { class: 'subject' }, h('bdi', null, row.subject)) : null,
    h('span', { class: 'preview' }, h('bdi', null, row.preview || '')),
    h('span', { class: 'chips' },
      chans.map((c) => chip(t('ch_' + c), 'channel')),
      chip(t('status_' + row.status), 'status status-' + row.status),
      row.priority && row.priority !== 'normal' ? chip(t('prio_' + row.priority), 'prio prio-' + row.priority) : null,
      chip(row.assignee_id ? (row.assignee_id === S.agent.id ? t('me', { name: S.agent.name }) : agentName(row.assignee_id)) : t('unassigned'), 'assignee'),
      row.waiting_since ? chip(t('waiting'), 'waiting', fullTime(row.waiting_since)) : null,
      slaChip(row.sla)));
}

function renderList() {
  if (!S.agent || !S.view) return;
  const ul = $('conversation-list');
  const active = document.activeElement;
  const activeLi = active && active.closest ? active.closest('li.conversation') : null;
  const activeId = activeLi ? activeLi.dataset.id : null;
  const old = new Map([...ul.children].map((li) => [li.dataset.id, li]));
  let prev = null;
  for (const row of S.rows) {
    let li = old.get(row.id);
    const sig = JSON.stringify(row) + S.fresh.has(row.id) + S.agents.size;
    if (li) old.delete(row.id); else li = h('li', { class: 'conversation', 'data-id': row.id });
    if (li._sig !== sig) {
      li._sig = sig;
      li.replaceChildren(rowContent(row));
      li.classList.toggle('waiting', !!row.waiting_since);
      li.classList.toggle('is-new', S.fresh.has(row.id));
      li.classList.toggle('urgent', row.priority === 'urgent');
    }
    const want = prev ? prev.nextSibling : ul.firstChild;
    if (want !== li) ul.insertBefore(li, want);
    prev = li;
  }
  for (const li of old.values()) li.remove();
  markSelected();
  if (activeId && (!document.activeElement || document.activeElement === document.body)) {
    const link = ul.querySelector(`li[data-id="${CSS.escape(activeId)}"] a`);
    if (link) link.focus({ preventScroll: true });
  }
  show($('list-empty'), S.rows.length === 0);
  show($('list-more'), !!S.cursor);
  $('list-count').textContent = S.rows.length ? t('showing', { n: S.rows.length }) : '';
  updateTitle();
}
function markSelected() {
  for (const li of $('conversation-list').children) {
    if (li.dataset.id === S.openId) li.setAttribute('aria-current', 'true');
    else li.removeAttribute('aria-current');
  }
}
function updateTitle() {
  const n = S.fresh.size;
  document.title = (n ? `(${NUM.format(n)}) ` : '') + 'Switchboard';
}
function patchRow(conv) {
  const i = S.rows.findIndex((r) => r.id === conv.id);
  if (i >= 0) { S.rows[i] = { ...S.rows[i], ...conv }; renderList(); }
}

// ---------------------------------------------------------------- one conversation
function closeConversation() {
  saveDraft();
  S.openId = null; S.conv = null; S.contact = null; S.convToken++;
  S.itemEls.clear(); S.items = [];
  clear($('timeline'));
  show($('conv'), false);
  show($('conv-placeholder'), true);
  show($('contact-pane'), false);
  document.body.classList.remove('has-conv', 'show-contact');
  $('contact-toggle').setAttribute('aria-expanded', 'false');
  markSelected();
}

function saveDraft() {
  if (!S.openId) return;
  const text = $('reply-body').value;
  if (text || S.mode !== 'reply') S.drafts.set(S.openId, { text, mode: S.mode });
  else S.drafts.delete(S.openId);
}

async function openConversation(id) {
  saveDraft();
  const token = ++S.convToken;
  S.openId = id; S.conv = null; S.contact = null; S.channelTouched = false; S.foldOffer = null;
  S.itemEls.clear(); S.items = [];
  S.fresh.delete(id);
  clear($('timeline'));
  clear($('contact-info'));
  clear($('merge-results'));
  $('merge-input').value = '';
  $('conv-title').textContent = t('loading');
  $('conv-subject').textContent = '';
  clear($('conv-meta'));
  show($('conv-placeholder'), false);
  show($('conv'), true);
  show($('contact-pane'), true);
  document.body.classList.add('has-conv');
  const draft = S.drafts.get(id);
  $('reply-body').value = draft ? draft.text : '';
  setMode(draft ? draft.mode : 'reply', false);
  markSelected();
  renderList();
  loadSuggestions(id);
  const [conv, timeline] = await Promise.allSettled([
    api('GET', '/v1/conversations/' + enc(id)),
    fetchTimeline(id),
  ]);
  if (token !== S.convToken) return;
  if (conv.status === 'rejected') {
    if (!(conv.reason instanceof ApiError && conv.reason.status === 401)) showError(conv.reason);
    $('conv-title').textContent = '';
    return;
  }
  S.conv = conv.value;
  renderConvHead(true);
  renderSuggestions(id);
  if (timeline.status === 'fulfilled') {
    S.items = timeline.value;
    syncTimeline(true);
  } else showError(timeline.reason);
  fillChannelPicker();
  if (!wide() && document.activeElement && document.activeElement.closest && document.activeElement.closest('#conversation-list')) {
    $('conv-title').setAttribute('tabindex', '-1');
    $('conv-title').focus({ preventScroll: true });
  }
  loadContact(S.conv.contact_id);
}

async function fetchTimeline(id) {
  let all = [];
  let cursor = null;
  for (let n = 0; n < 50; n++) {
    const page = await api('GET', `/v1/conversations/${enc(id)}/timeline?limit=100` + (cursor ? '&cursor=' + enc(cursor) : ''));
    all = all.concat(items(page));
    cursor = page && page.next_cursor;
    if (!cursor) break;
  }
  return all;
}

async function refreshConversation() {
  const id = S.openId;
  if (!id) return;
  const token = S.convToken;
  const [conv, timeline] = await Promise.allSettled([
    api('GET', '/v1/conversations/' + enc(id)),
    fetchTimeline(id),
  ]);
  if (token !== S.convToken || id !== S.openId) return;
  if (conv.status === 'fulfilled') {
    const before = S.conv;
    S.conv = conv.value;
    renderConvHead();
    if (before && before.contact_id !== S.conv.contact_id) loadContact(S.conv.contact_id);
  }
  if (timeline.status === 'fulfilled') {
    const known = new Set(S.items.map((i) => i.id));
    S.items = timeline.value;
    const fresh = S.items.filter((i) => !known.has(i.id) && i.item === 'message' && i.direction === 'inbound');
    syncTimeline(false);
    if (fresh.length) announce(t('new_message_from', { name: contactName() }));
    fillChannelPicker();
    loadSuggestions(id);
  }
}

const contactName = () => (S.conv && S.conv.contact_name) || (S.contact && S.contact.name) || t('customer');

function renderConvHead(force) {
  const c = S.conv;
  if (!c) return;
  $('conv-title').replaceChildren(h('bdi', null, contactName()));
  $('conv-subject').replaceChildren(h('bdi', null, c.subject || ''));
  show($('conv-subject'), !!c.subject);
  const meta = [
    chip(t('status_' + c.status), 'status status-' + c.status),
    chip(t('prio_' + c.priority), 'prio prio-' + c.priority),
    chip(c.assignee_id ? (c.assignee_id === S.agent.id ? t('me', { name: S.agent.name }) : agentName(c.assignee_id)) : t('unassigned'), 'assignee'),
    ...(c.channels || [c.channel]).filter(Boolean).map((ch) => chip(t('ch_' + ch), 'channel')),
    c.team_id && S.teams.get(c.team_id) ? chip(t('team', { name: S.teams.get(c.team_id).name }), 'team') : null,
    ...(c.tags || []).map((tag) => chip('#' + tag, 'tag')),
    c.status === 'snoozed' && c.snoozed_until ? chip(t('snoozed_until', { time: fullTime(c.snoozed_until) }), 'status-snoozed') : null,
    c.waiting_since ? chip(t('waiting'), 'waiting', fullTime(c.waiting_since)) : null,
    slaChip(c.sla),
  ].filter(Boolean);
  $('conv-meta').replaceChildren(...meta.map((m) => h('li', null, m)));
  fillAssignSelect(force);
  const prio = $('priority-select');
  if (force || document.activeElement !== prio) prio.value = c.priority || 'normal';
  const tags = $('tags-input');
  if (force || document.activeElement !== tags || tags.dataset.conv !== c.id) {
    tags.value = (c.tags || []).join(', ');
    tags.dataset.conv = c.id;
  }
  $('status-resolve').disabled = c.status === 'resolved';
  $('status-reopen').disabled = c.status === 'open';
  $('status-pending').disabled = c.status === 'pending';
}

function fillAssignSelect(force) {
  const sel = $('assign-select');
  if (!S.agent || (!force && document.activeElement === sel)) return;
  const current = S.conv ? S.conv.assignee_id || '' : '';
  const pairs = [['', t('unassigned')], [S.agent.id, t('me', { name: S.agent.name })]];
  const others = [...S.agents.values()].filter((a) => a.id !== S.agent.id)
    .sort((a, b) => (a.name || '').localeCompare(b.name || '', L));
  for (const a of others) pairs.push([a.id, a.name || a.email || a.id]);
  if (current && !pairs.some(([v]) => v === current)) pairs.push([current, t('another_agent')]);
  fillSelect(sel, pairs, current);
}

async function patchConversation(body, control) {
  if (!S.conv) return;
  const id = S.conv.id;
  if (control) control.disabled = true;
  clearError();
  try {
    const updated = await api('PATCH', '/v1/conversations/' + enc(id), body);
    if (S.conv && S.conv.id === id && updated) S.conv = { ...S.conv, ...updated };
    if (updated) patchRow(updated);
    return true;
  } catch (err) {
    showError(err);
    return false;
  } finally {
    if (control) control.disabled = false;
    // A select that was refused shows again what the conversation has.
    if (S.conv && S.conv.id === id) renderConvHead(!!control);
  }
}

function snoozeUntil(choice) {
  const d = new Date();
  switch (choice) {
    case '1h': d.setHours(d.getHours() + 1); break;
    case 'tomorrow': d.setDate(d.getDate() + 1); d.setHours(9, 0, 0, 0); break;
    case '3d': d.setDate(d.getDate() + 3); break;
    case '1w': d.setDate(d.getDate() + 7); break;
    default: d.setHours(d.getHours() + 4);
  }
  return d.toISOString();
}

function parseTags(text) {
  const seen = new Set();
  return text.split(/[,،\s]+/).map((s) => s.trim().replace(/^#/, '')).filter((s) => s && !seen.has(s) && seen.add(s));
}

// ---------------------------------------------------------------- timeline
function authorName(author) {
  if (!author) return '';
  if (author.type === 'contact') return contactName();
  if (author.type === 'agent') return author.agent_id === S.agent.id ? S.agent.name : agentName(author.agent_id);
  return t('system');
}
function identityText(identity) {
  if (!identity) return '';
  const value = identity.value || '';
  return t('id_' + identity.kind) + ' ' + (L === 'fa' ? `\u2066${value}\u2069` : value);
}

function textBlock(text, channel, quoted) {
  const out = [];
  let body = text || '';
  if (!quoted && channel === 'email') {
    // No quoted history given apart: fold runs of lines that start with ">".
    const lines = body.split('\n');
    const parts = [];
    for (const line of lines) {
      const q = /^\s*>/.test(line);
      const last = parts[parts.length - 1];
      if (last && last.q === q) last.lines.push(line); else parts.push({ q, lines: [line] });
    }
    if (parts.some((p) => p.q)) {
      for (const p of parts) {
        const chunk = p.lines.join('\n');
        if (p.q) out.push(h('details', { class: 'quoted' }, h('summary', null, t('quoted')), h('div', { class: 'text', dir: 'auto' }, chunk)));
        else if (chunk.trim()) out.push(h('div', { class: 'text', dir: 'auto' }, chunk.replace(/^\n+|\n+$/g, '')));
      }
      return out;
    }
  }
  out.push(h('div', { class: 'text', dir: 'auto' }, body));
  if (quoted) out.push(h('details', { class: 'quoted' }, h('summary', null, t('quoted')), h('div', { class: 'text', dir: 'auto' }, quoted)));
  return out;
}

function attachmentsBlock(m) {
  const list = Array.isArray(m.attachments) ? m.attachments : [];
  if (!list.length) return null;
  return h('ul', { class: 'attachments' }, list.map((a, index) => {
    const url = `/v1/messages/${enc(m.id)}/attachments/${index}`;
    const name = a.filename || `${t('file')}-${index + 1}`;
    const type = String(a.content_type || '');
    const label = [name, sizeText(a.size)].filter(Boolean).join(' · ');
    if (!a.blob_key) {
      const why = a.fetch_error ? `${t('att_failed')}: ${a.fetch_error}` : t('att_pending');
      return h('li', { class: 'att unavailable' }, h('span', { dir: 'auto' }, label), ' — ', h('span', { class: 'muted' }, why));
    }
    if (type.startsWith('image/')) {
      return h('li', { class: 'att image' }, h('a', { href: url, target: '_blank', rel: 'noopener' },
        h('img', { src: url, alt: a.filename || t('image'), loading: 'lazy', decoding: 'async' })));
    }
    if (type.startsWith('audio/')) {
      return h('li', { class: 'att audio' }, h('audio', { controls: true, preload: 'none', src: url, 'aria-label': name }),
        h('a', { href: url, download: name, dir: 'auto' }, label));
    }
    if (type.startsWith('video/')) {
      return h('li', { class: 'att video' }, h('video', { controls: true, preload: 'metadata', src: url, 'aria-label': name }),
        h('a', { href: url, download: name, dir: 'auto' }, label));
    }
    return h('li', { class: 'att file' }, h('a', { href: url, download: name, dir: 'auto' }, label));
  }));
}

function deliveryBlock(m) {
  const status = m.delivery_status || 'queued';
  return h('span', { class: 'delivery-status ds-' + status, 'data-status': status },
    t('ds_' + status),
    status === 'failed' && m.delivery_error ? h('span', { class: 'delivery-error' }, ': ', h('bdi', null, m.delivery_error)) : null);
}

function renderMessage(m) {
  const inbound = m.direction === 'inbound';
  const context = Array.isArray(m.context) ? m.context : [];
  const quotedEntry = context.find((c) => /^quoted/i.test(c.name || ''));
  const rest = context.filter((c) => c !== quotedEntry);
  return h('article', { class: `item msg ${inbound ? 'in' : 'out'}`, 'data-id': m.id, 'data-kind': 'message', 'data-direction': m.direction },
    h('header', { class: 'item-head' },
      h('span', { class: 'author', dir: 'auto' }, authorName(m.author)),
      chip(t('ch_' + m.channel), 'channel'),
      h('span', { class: 'dir' }, t(inbound ? 'inbound' : 'outbound')),
      m.edit_of ? h('span', { class: 'muted' }, t('edited')) : null,
      timeEl(m.created_at, 'when')),
    textBlock(m.text, m.channel, quotedEntry ? quotedEntry.value : null),
    attachmentsBlock(m),
    rest.length ? h('dl', { class: 'context' }, rest.flatMap((c) => [h('dt', { dir: 'auto' }, c.name), h('dd', { dir: 'auto' }, c.value)])) : null,
    h('footer', { class: 'item-foot' },
      deliveryBlock(m),
      m.original ? h('a', { href: `/v1/messages/${enc(m.id)}/original`, download: '', class: 'original' }, t('original')) : null));
}

function renderNote(n) {
  return h('article', { class: 'item note', 'data-id': n.id, 'data-kind': 'note' },
    h('header', { class: 'item-head' },
      h('span', { class: 'badge note-badge' }, t('private_note')),
      h('span', { class: 'author', dir: 'auto' }, n.author_id === S.agent.id ? S.agent.name : agentName(n.author_id)),
      timeEl(n.created_at, 'when')),
    h('div', { class: 'text', dir: 'auto' }, n.text || ''));
}

function eventText(e) {
  const st = (s) => (s ? t('status_' + s) : '');
  const pr = (p) => (p ? t('prio_' + p) : '');
  const target = (x) => (x ? t('t_' + x) : '');
  switch (e.type) {
    case 'assigned': return e.to ? t('ev_assigned', { to: agentName(e.to) }) : t('ev_unassigned');
    case 'status_changed': return t('ev_status_changed', { from: st(e.from), to: st(e.to) });
    case 'snoozed': return t('ev_snoozed', { until: fullTime(e.until) });
    case 'priority_changed': return t('ev_priority_changed', { from: pr(e.from), to: pr(e.to) });
    case 'team_changed': return t('ev_team_changed', { to: e.to ? (S.teams.get(e.to) || {}).name || e.to : t('no_team') });
    case 'tags_changed': return t('ev_tags_changed', {
      changes: [...(e.added || []).map((x) => '+' + x), ...(e.removed || []).map((x) => '−' + x)].join(' '),
    });
    case 'merge_suggested': return t('ev_merge_suggested', { identity: identityText(e.identity) });
    case 'channel_blocked': case 'channel_unblocked': return t('ev_' + e.type, { channel: t('ch_' + e.channel) });
    case 'identity_proven': return t('ev_identity_proven', { identity: identityText(e.identity) });
    case 'rule_applied': return t('ev_rule_applied', { name: e.rule_name || '' });
    case 'sla_breached': return t('ev_sla_breached', { target: target(e.target) });
    case 'sla_due_soon': return t('ev_sla_due_soon', { target: target(e.target), due: relTime(e.due_at) });
    case 'rule_note': return t('ev_rule_note', { text: e.text || '' });
    case 'agents_called': return t('ev_agents_called', { name: e.rule_name || '', n: (e.agent_ids || []).length });
    case 'survey_sent': return t('ev_survey_sent', { channel: t('ch_' + e.channel) });
    case 'csat_rated': return t('ev_csat_rated', { rating: Number(e.rating) || 0 }) + (e.comment ? ` — “${e.comment}”` : '');
    case 'incident_linked': return t('ev_incident_linked', { title: e.title || '' });
    default: return WORDS.en['ev_' + e.type] ? t('ev_' + e.type) : String(e.type || '');
  }
}

function renderEvent(e) {
  const actor = e.actor_id ? t('by', { name: e.actor_id === S.agent.id ? S.agent.name : agentName(e.actor_id) }) : null;
  return h('article', { class: 'item event', 'data-id': e.id, 'data-kind': 'event', 'data-type': e.type },
    h('p', { class: 'event-line' },
      h('span', { dir: 'auto' }, eventText(e)),
      actor ? h('span', { class: 'muted' }, ' · ' + actor) : null,
      ' · ', timeEl(e.created_at, 'when')));
}

function renderItem(it) {
  if (it.item === 'message') return renderMessage(it);
  if (it.item === 'note') return renderNote(it);
  return renderEvent(it);
}

function scroller() {
  const tl = $('timeline');
  return tl.scrollHeight > tl.clientHeight + 2 && getComputedStyle(tl).overflowY !== 'visible' ? tl : null;
}
function nearBottom() {
  const tl = scroller();
  if (tl) return tl.scrollHeight - tl.scrollTop - tl.clientHeight < 120;
  return true;
}
function toBottom(force) {
  const tl = $('timeline');
  tl.scrollTop = tl.scrollHeight;
  if (force && !wide()) {
    const comp = $('composer');
    const top = comp.getBoundingClientRect().top + window.scrollY;
    window.scrollTo(0, Math.max(0, top - window.innerHeight + comp.offsetHeight + 8));
  }
}

// Puts S.items on the page, reusing the articles that did not change: a status that
// moved re-draws only its own article, and nothing outside the timeline is touched.
function syncTimeline(first) {
  const tl = $('timeline');
  const stick = first || nearBottom();
  const keep = new Set();
  let prev = null;
  let prevGroup = null;
  for (const it of S.items) {
    if (!it || !it.id) continue;
    keep.add(it.id);
    // A message whose delivery moved on gets only its status redrawn.
    const { delivery_status: ds, delivery_error: de, provider_id: pid, item: kind, ...rest } = it;
    const sig = kind + JSON.stringify(rest) + S.agents.size;
    const dsig = `${ds}|${de}`;
    let el = S.itemEls.get(it.id);
    if (!el || el._sig !== sig) {
      const fresh = renderItem(it);
      fresh._sig = sig;
      fresh._dsig = dsig;
      if (el) el.replaceWith(fresh);
      el = fresh;
      S.itemEls.set(it.id, el);
    } else if (el._dsig !== dsig) {
      const old = el.querySelector('.delivery-status');
      if (old) old.replaceWith(deliveryBlock(it));
      el._dsig = dsig;
    }
    const group = it.item === 'message' && it.media_group ? it.media_group : null;
    el.classList.toggle('same-group', !!group && group === prevGroup);
    prevGroup = group;
    const want = prev ? prev.nextSibling : tl.firstChild;
    if (want !== el) tl.insertBefore(el, want);
    prev = el;
  }
  for (const [id, el] of S.itemEls) {
    if (!keep.has(id)) { el.remove(); S.itemEls.delete(id); }
  }
  if (stick) toBottom(first);
}

function addItem(it) {
  if (!it || !it.id) return;
  const i = S.items.findIndex((x) => x.id === it.id);
  if (i >= 0) S.items[i] = it; else S.items.push(it);
  syncTimeline(false);
  toBottom(false);
}

// ---------------------------------------------------------------- composer
function setMode(mode, focus) {
  S.mode = mode === 'note' ? 'note' : 'reply';
  const note = S.mode === 'note';
  $('mode-reply').setAttribute('aria-pressed', String(!note));
  $('mode-note').setAttribute('aria-pressed', String(note));
  $('composer').classList.toggle('note-mode', note);
  $('reply-label').textContent = t(note ? 'note_label' : 'reply_label');
  $('reply-send').textContent = t(note ? 'add_note' : 'send');
  show($('channel-field'), !note);
  show($('files-field'), !note);
  if (note) show($('channel-hint'), false); else channelHint();
  if (focus) $('reply-body').focus();
}

// Which channels a reply can go by, and why not where it cannot.
function channelChoices() {
  const c = S.conv;
  if (!c) return [];
  const contact = S.contact;
  const offered = new Set(c.channels || []);
  if (c.channel) offered.add(c.channel);
  if (contact) {
    for (const ident of contact.identities || []) {
      for (const [ch, kind] of Object.entries(ADDRESS_KIND)) {
        if (ident.kind === kind && ident.proven && ch !== 'voice') offered.add(ch);
      }
    }
  }
  const blocked = new Set((contact && contact.blocked_channels) || []);
  return CHANNELS.filter((ch) => offered.has(ch)).map((ch) => {
    let why = null;
    if (blocked.has(ch)) why = 'ch_blocked';
    else if (contact && ADDRESS_KIND[ch]) {
      const kind = ADDRESS_KIND[ch];
      const proven = (contact.identities || []).some((i) => i.kind === kind && i.proven);
      const wroteFrom = S.items.some((m) => m.item === 'message' && m.direction === 'inbound'
        && Array.isArray(m.sent_from) && m.sent_from.some((i) => i && i.kind === kind));
      if (!proven && !wroteFrom) why = 'ch_no_address';
    }
    return { ch, why };
  });
}
function defaultChannel() {
  if (S.conv && S.conv.channel) return S.conv.channel;
  const last = [...S.items].reverse().find((m) => m.item === 'message' && m.direction === 'inbound');
  return last ? last.channel : null;
}
function fillChannelPicker() {
  const sel = $('reply-channel');
  if (!S.conv || document.activeElement === sel) return;
  const choices = channelChoices();
  const previous = sel.value;
  const def = defaultChannel();
  fillSelect(sel, choices.map(({ ch, why }) => [ch, why ? `${t('ch_' + ch)} (${t('unusable')})` : t('ch_' + ch), !!why]));
  const usable = choices.filter((c) => !c.why).map((c) => c.ch);
  let value = S.channelTouched && usable.includes(previous) ? previous : def;
  if (!usable.includes(value)) value = usable[0] || def || '';
  if (value) sel.value = value;
  channelHint();
}
function channelHint() {
  const hint = $('channel-hint');
  if (!S.conv || S.mode === 'note') { show(hint, false); return; }
  const lines = [];
  const def = defaultChannel();
  if (def && $('reply-channel').value !== def) lines.push(t('ch_default', { channel: t('ch_' + def) }));
  for (const c of channelChoices()) if (c.why) lines.push(t(c.why, { channel: t('ch_' + c.ch) }));
  hint.textContent = lines.join(' ');
  show(hint, lines.length > 0);
}

let sending = false;
async function send(ev) {
  if (ev) ev.preventDefault();
  if (sending || !S.conv) return;
  const box = $('reply-body');
  const text = box.value;
  const note = S.mode === 'note';
  const picker = $('reply-files');
  const files = note ? [] : Array.from(picker.files || []);
  if (!text.trim() && !files.length) { showError(t('empty_text')); box.focus(); return; }
  const id = S.conv.id;
  const btn = $('reply-send');
  sending = true;
  btn.disabled = true;
  btn.textContent = t('sending');
  clearError();
  try {
    if (note) {
      const n = await api('POST', `/v1/conversations/${enc(id)}/notes`, { text });
      if (S.openId === id && n) addItem({ ...n, item: 'note' });
      notice(t('note_added'));
    } else {
      const ch = $('reply-channel').value;
      let body = { text };
      if (ch) body.channel = ch;
      if (files.length) {
        // With files the reply goes as a form: its text, its channel and a part a file.
        body = new FormData();
        body.append('text', text);
        if (ch) body.append('channel', ch);
        for (const f of files) body.append('file', f, f.name);
      }
      const m = await api('POST', `/v1/conversations/${enc(id)}/replies`, body);
      picker.value = '';
      if (S.openId === id && m) addItem({ ...m, item: 'message' });
      notice(t('reply_sent'));
    }
    if (S.openId === id && box.value === text) box.value = '';
    S.drafts.delete(id);
    if (document.activeElement === document.body || document.activeElement === btn) box.focus();
  } catch (err) {
    showError(err);
  } finally {
    sending = false;
    btn.disabled = false;
    btn.textContent = t(S.mode === 'note' ? 'add_note' : 'send');
  }
}

// ---------------------------------------------------------------- contact panel
async function loadContact(id) {
  if (!id) return;
  const token = ++S.contactToken;
  try {
    const c = await api('GET', '/v1/contacts/' + enc(id));
    if (token !== S.contactToken || !S.conv || S.conv.contact_id !== id) return;
    S.contact = c;
    renderContact();
    fillChannelPicker();
    if (S.conv && !S.conv.contact_name && c.name) $('conv-title').replaceChildren(h('bdi', null, c.name));
  } catch (err) {
    if (token === S.contactToken && !(err instanceof ApiError && err.status === 401)) showError(err);
  }
}
async function refreshContact() {
  if (S.conv) await loadContact(S.conv.contact_id);
}

function renderContact() {
  const c = S.contact;
  const foldOffer = S.foldOffer;
  const box = $('contact-info');
  if (!c) { clear(box); return; }
  const idents = Array.isArray(c.identities) ? c.identities : [];
  const convs = (Array.isArray(c.conversations) ? c.conversations : []).filter((x) => x.id !== S.openId);
  const blocked = Array.isArray(c.blocked_channels) ? c.blocked_channels : [];
  const suggestions = Array.isArray(c.merge_suggestions) ? c.merge_suggestions : [];
  box.replaceChildren(...[
    h('p', { class: 'contact-name' }, h('strong', null, h('bdi', null, c.name || t('unnamed'))), c.vip ? chip(t('vip'), 'vip') : null),
    h('p', { class: 'muted small id-line' }, h('bdi', null, c.id)),
    (c.tags || []).length ? h('p', { class: 'chips' }, c.tags.map((x) => chip('#' + x, 'tag'))) : null,
    h('h3', null, t('identities')),
    idents.length ? h('ul', { class: 'identities' }, idents.map((i) => h('li', { class: i.proven ? 'proven' : 'claimed' },
      h('span', { class: 'kind' }, t('id_' + i.kind)), ' ',
      h('bdi', { class: 'value', dir: 'ltr' }, i.value || ''), ' ',
      h('span', { class: 'badge ' + (i.proven ? 'badge-proven' : 'badge-claimed') }, t(i.proven ? 'proven' : 'claimed')),
      i.typed ? h('span', { class: 'muted small' }, ' · ' + t('typed')) : null))) : h('p', { class: 'muted' }, t('nothing')),
    blocked.length ? h('ul', { class: 'blocked' }, blocked.map((ch) => h('li', null, t('blocked_on', { channel: t('ch_' + ch) })))) : null,
    suggestions.length ? h('ul', { class: 'suggestions' }, suggestions.map((s) => h('li', null,
      h('span', null, t('maybe_same', { identity: identityText(s.identity) })), ' ',
      h('button', { type: 'button', class: 'btn small', 'data-merge': s.other_contact_id }, t('review_merge'))))) : null,
    foldOffer && Array.isArray(foldOffer.from) && foldOffer.from.length ? h('div', { class: 'fold-offer' },
      h('p', null, t('fold_offer', { n: foldOffer.from.length + 1 })),
      h('button', { type: 'button', class: 'btn small', id: 'fold-do', onclick: () => fold(foldOffer) }, t('fold_do'))) : null,
    h('h3', null, t('other_convs')),
    convs.length ? h('ul', { class: 'other-convs' }, convs.map((x) => h('li', null,
      h('a', { href: `#/${S.view || 'all'}/${x.id}`, dir: 'auto' }, x.subject || x.preview || x.id),
      h('span', { class: 'muted small' }, ' · ', t('status_' + x.status), ' · ', shortTime(x.updated_at))))) : h('p', { class: 'muted' }, t('none_other')),
  ].filter(Boolean));
}

let mergeSearchTimer = 0;
function mergeSearch() {
  clearTimeout(mergeSearchTimer);
  const q = $('merge-input').value.trim();
  const out = $('merge-results');
  if (q.length < 2 || /^ct_/.test(q)) { clear(out); return; }
  mergeSearchTimer = setTimeout(async () => {
    try {
      const page = await api('GET', '/v1/contacts?limit=8&q=' + enc(q));
      if ($('merge-input').value.trim() !== q) return;
      const found = items(page).filter((c) => !S.contact || c.id !== S.contact.id);
      if (!found.length) { out.replaceChildren(h('li', { class: 'muted small' }, t('no_matches'))); return; }
      out.replaceChildren(...found.map((c) => h('li', null, h('button', { type: 'button', class: 'linklike', 'data-merge': c.id },
        h('span', { dir: 'auto' }, c.name || t('unnamed')), ' ',
        h('span', { class: 'muted small' }, (c.identities || []).slice(0, 2).map((i) => i.value).join(', ') || c.id)))));
    } catch (err) {
      showError(err);
    }
  }, 300);
}

async function openMerge(otherId) {
  if (!S.contact) return;
  otherId = (otherId || '').trim();
  if (!/^ct_[0-9a-z]{10,40}$/.test(otherId)) { showError(t('merge_need_id')); $('merge-input').focus(); return; }
  if (otherId === S.contact.id) { showError(t('merge_self')); return; }
  clearError();
  let other;
  try {
    other = await api('GET', '/v1/contacts/' + enc(otherId));
  } catch (err) { showError(err); return; }
  S.mergeOther = other;
  const label = (c) => `${c.name || t('unnamed')} (${c.id})`;
  $('merge-this-label').textContent = t('merge_this', { name: label(S.contact) });
  $('merge-other-label').textContent = t('merge_other', { name: label(other) });
  $('merge-keep-this').checked = true;
  $('merge-dialog').showModal();
}

async function confirmMerge(ev) {
  ev.preventDefault();
  const other = S.mergeOther;
  if (!other || !S.contact) return;
  const keepThis = $('merge-keep-this').checked;
  const survivor = keepThis ? S.contact.id : other.id;
  const absorbed = keepThis ? other.id : S.contact.id;
  const btn = $('merge-confirm');
  btn.disabled = true;
  try {
    const merged = await api('POST', `/v1/contacts/${enc(survivor)}/merge`, { other_contact_id: absorbed });
    $('merge-dialog').close();
    notice(t('merged'));
    $('merge-input').value = '';
    clear($('merge-results'));
    S.mergeOther = null;
    if (S.conv) S.conv = { ...S.conv, contact_id: survivor };
    await loadContact(survivor);
    S.foldOffer = (merged && merged.fold_offer) || null;
    renderContact();
    loadList('keep');
  } catch (err) {
    $('merge-dialog').close();
    showError(err);
  } finally {
    btn.disabled = false;
  }
}

async function fold(offer) {
  const btn = $('fold-do');
  if (btn) btn.disabled = true;
  try {
    for (const from of offer.from) {
      await api('POST', `/v1/conversations/${enc(from)}/fold`, { into: offer.into });
    }
    notice(t('folded'));
    S.foldOffer = null;
    renderContact();
    loadList('keep');
    if (S.openId === offer.into) { refreshConversation(); refreshContact(); } else go(`#/${S.view || 'all'}/${offer.into}`);
  } catch (err) {
    showError(err);
    if (btn) btn.disabled = false;
  }
}

// ---------------------------------------------------------------- live updates
async function live(gen) {
  let after = null;
  while (S.liveGen === gen && S.agent) {
    const ctl = new AbortController();
    S.liveAbort = ctl;
    const began = Date.now();
    try {
      const q = after ? `?after=${enc(after)}&wait=20` : '?wait=0';
      const page = await api('GET', '/v1/events' + q, undefined, { signal: ctl.signal });
      if (S.liveGen !== gen) return;
      if (page && typeof page.next_cursor === 'string' && page.next_cursor) after = page.next_cursor;
      const events = page && Array.isArray(page.events) ? page.events : [];
      if (events.length) takeChanges(events);
      else if (Date.now() - began < 1000 && after && q !== '?wait=0') await sleep(1500);
    } catch (err) {
      if (S.liveGen !== gen || (err && err.name === 'AbortError')) return;
      if (err instanceof ApiError && err.status === 401) return;
      if (err instanceof ApiError && err.status === 422) after = null;
      const ra = err instanceof ApiError ? parseInt(err.retryAfter, 10) : 0;
      await sleep(ra > 0 ? Math.min(ra, 60) * 1000 : 2000);
    }
  }
}

function takeChanges(events) {
  for (const c of events) {
    if (!c || !c.id || S.seen.has(c.id)) continue;
    S.seen.add(c.id);
    const type = String(c.type || '');
    if (c.conversation_id) {
      S.dirty.list = true;
      if (c.conversation_id === S.openId) S.dirty.conv = true;
    }
    if (type.startsWith('contact.')) {
      S.dirty.list = true;
      if (S.contact && (c.contact_id === S.contact.id || type === 'contact.merged')) S.dirty.contact = true;
      if (type === 'contact.merged' && S.openId) S.dirty.conv = true;
    }
    if (S.admin === 'incidents' && (/^(incident\.|conversation\.incident_)/.test(type) || (S.incident && type.startsWith('reply.')))) S.dirty.incidents = true;
    if (type === 'message.received' && c.conversation_id) {
      if (c.conversation_id !== S.openId) S.fresh.add(c.conversation_id);
      S.announce.push(c.conversation_id);
    }
  }
  if (S.seen.size > 3000) S.seen = new Set([...S.seen].slice(-1500));
  clearTimeout(S.flushTimer);
  // A change comes as a few entries in a row: one refresh for them all.
  S.flushTimer = setTimeout(flushChanges, 120);
}

async function flushChanges() {
  if (!S.agent) return;
  const d = S.dirty;
  S.dirty = { list: false, conv: false, contact: false, incidents: false };
  const jobs = [];
  if (d.list && S.view) jobs.push(loadList('keep'));
  if (d.conv && S.openId) jobs.push(refreshConversation());
  if (d.contact && S.conv) jobs.push(refreshContact());
  if (d.incidents && S.admin === 'incidents') jobs.push(refreshIncidents());
  await Promise.allSettled(jobs);
  const ids = S.announce.filter((id) => id !== S.openId);
  S.announce = [];
  if (ids.length === 1) {
    const row = S.rows.find((r) => r.id === ids[0]);
    announce(t('new_message_from', { name: (row && row.contact_name) || t('customer') }));
  } else if (ids.length > 1) announce(t('new_messages', { n: ids.length }));
  updateTitle();
}

// ---------------------------------------------------------------- admin
function table(head, rows, labelledby) {
  // A table that may scroll sideways can be reached and scrolled from the keyboard.
  const wrap = labelledby ? { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-labelledby': labelledby } : { class: 'table-wrap' };
  return h('div', wrap, h('table', null,
    h('thead', null, h('tr', null, head.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', null, rows)));
}
function adminMessage(text) {
  return h('p', { class: 'empty' }, text);
}

async function renderAdmin(which) {
  $('admin-title').textContent = t('view_' + which.replace('-', '_'));
  const body = clear($('admin-body'));
  body.append(adminMessage(t('loading')));
  const pages = { 'dead-letters': adminDeadLetters, agents: adminAgents, sessions: adminSessions, teams: adminTeams, incidents: pageIncidents, reports: pageReports, knowledge: pageKnowledge };
  try {
    await pages[which](body);
  } catch (err) {
    if (S.admin === which) { clear(body); showError(err); }
  }
}

async function adminDeadLetters(body, queue = 'inbound', cursor = null, keep = null) {
  const page = await api('GET', `/v1/dead-letters?limit=50&queue=${enc(queue)}` + (cursor ? '&cursor=' + enc(cursor) : ''));
  if (S.admin !== 'dead-letters') return;
  const list = items(page);
  const rows = list.map((d) => h('tr', { 'data-id': d.id },
    h('td', null, h('code', null, d.id)),
    h('td', null, fullTime(d.enqueued_at)),
    h('td', null, NUM.format(d.receive_count || 0)),
    h('td', { dir: 'auto' }, d.last_error || ''),
    h('td', null, h('details', null, h('summary', null, t('show_body')), h('pre', { class: 'body-pre' }, d.body || ''))),
    h('td', null, h('button', { type: 'button', class: 'btn small', onclick: (e) => replay(e.currentTarget, d.queue || queue, d.id) }, t('replay')))));
  if (keep) { keep.append(...rows); } else {
    const sel = h('select', { id: 'dl-queue' }, ['inbound', 'outbound', 'webhooks'].map((q) => option(q, t('queue_' + q), q === queue)));
    sel.addEventListener('change', () => { clear(body); body.append(adminMessage(t('loading'))); adminDeadLetters(body, sel.value).catch(showError); });
    const tb = table([t('col_id'), t('col_when'), t('col_attempts'), t('col_error'), t('col_body'), t('col_actions')], rows);
    body.replaceChildren(h('div', { class: 'field inline' }, h('label', { for: 'dl-queue' }, t('queue')), sel),
      list.length ? tb : adminMessage(t('nothing')));
    keep = tb.querySelector('tbody');
  }
  const old = body.querySelector('.more');
  if (old) old.remove();
  if (page && page.next_cursor) {
    body.append(h('div', { class: 'more' }, h('button', { type: 'button', class: 'btn', onclick: (e) => {
      e.currentTarget.disabled = true;
      adminDeadLetters(body, queue, page.next_cursor, keep).catch(showError);
    } }, t('load_more'))));
  }
}
async function replay(btn, queue, id) {
  btn.disabled = true;
  try {
    await api('POST', `/v1/dead-letters/${enc(queue)}/${enc(id)}/replay`);
    const tr = btn.closest('tr');
    if (tr) tr.remove();
    notice(t('replayed'));
  } catch (err) { btn.disabled = false; showError(err); }
}

async function adminAgents(body) {
  const list = [];
  let cursor = null;
  for (let n = 0; n < 20; n++) {
    const page = await api('GET', '/v1/agents?limit=100' + (cursor ? '&cursor=' + enc(cursor) : ''));
    list.push(...items(page));
    cursor = page && page.next_cursor;
    if (!cursor) break;
  }
  if (S.admin !== 'agents') return;
  for (const a of list) S.agents.set(a.id, a);
  const rows = list.map((a) => h('tr', { 'data-id': a.id },
    h('td', { dir: 'auto' }, a.name || ''), h('td', null, h('bdi', null, a.email || '')),
    h('td', null, t('role_' + a.role)), h('td', null, t('av_' + a.availability)),
    h('td', null, a.last_seen_at ? fullTime(a.last_seen_at) : t('never'))));
  const form = h('form', { id: 'agent-form', class: 'card inline-form', novalidate: true },
    h('h3', null, t('create_agent')),
    h('div', { class: 'field' }, h('label', { for: 'agent-new-name' }, t('col_name')), h('input', { id: 'agent-new-name', required: true, maxlength: 100, dir: 'auto' })),
    h('div', { class: 'field' }, h('label', { for: 'agent-new-email' }, t('col_email')), h('input', { id: 'agent-new-email', type: 'email', required: true, dir: 'ltr' })),
    h('div', { class: 'field' }, h('label', { for: 'agent-new-role' }, t('col_role')),
      h('select', { id: 'agent-new-role' }, option('agent', t('role_agent'), true), option('admin', t('role_admin')))),
    h('button', { type: 'submit', class: 'btn primary', id: 'agent-create' }, t('create')),
    h('div', { id: 'api-key-box', class: 'key-box', hidden: true }));
  form.addEventListener('submit', createAgent);
  body.replaceChildren(form, list.length ? table([t('col_name'), t('col_email'), t('col_role'), t('col_availability'), t('col_last_seen')], rows) : adminMessage(t('nothing')));
}
async function createAgent(ev) {
  ev.preventDefault();
  const name = $('agent-new-name').value.trim();
  const email = $('agent-new-email').value.trim();
  const role = $('agent-new-role').value;
  const btn = $('agent-create');
  btn.disabled = true;
  clearError();
  try {
    const r = await api('POST', '/v1/agents', { name, email, role });
    if (!r) return;
    if (r.agent) S.agents.set(r.agent.id, r.agent);
    const body = $('admin-body');
    await adminAgents(body);
    const box = $('api-key-box');
    const key = h('code', { id: 'api-key', dir: 'ltr' }, r.api_key || '');
    box.replaceChildren(h('p', null, t('api_key_once')), key, ' ',
      h('button', { type: 'button', class: 'btn small', onclick: () => copyText(r.api_key || '') }, t('copy')));
    show(box, true);
    key.focus && box.scrollIntoView({ block: 'nearest' });
  } catch (err) { showError(err); } finally {
    const b = $('agent-create');
    if (b) b.disabled = false;
  }
}
async function copyText(text) {
  try { await navigator.clipboard.writeText(text); notice(t('copied')); } catch { /* the key stays on screen to copy by hand */ }
}

async function adminSessions(body) {
  const r = await api('GET', '/v1/sessions');
  if (S.admin !== 'sessions') return;
  const list = r && Array.isArray(r.sessions) ? r.sessions : items(r);
  const rows = list.map((s) => h('tr', { 'data-id': s.id },
    h('td', { dir: 'auto' }, agentName(s.agent_id)),
    h('td', null, fullTime(s.created_at)), h('td', null, fullTime(s.expires_at)),
    h('td', { class: 'ua' }, s.user_agent || ''),
    h('td', null, h('button', { type: 'button', class: 'btn small danger', onclick: (e) => revoke(e.currentTarget, s.id) }, t('revoke')))));
  body.replaceChildren(list.length ? table([t('col_agent'), t('col_created'), t('col_expires'), t('col_user_agent'), t('col_actions')], rows) : adminMessage(t('nothing')));
}
async function revoke(btn, id) {
  btn.disabled = true;
  try {
    await api('DELETE', '/v1/sessions/' + enc(id));
    const tr = btn.closest('tr');
    if (tr) tr.remove();
    notice(t('revoked'));
  } catch (err) { btn.disabled = false; showError(err); }
}

async function adminTeams(body) {
  const list = items(await api('GET', '/v1/teams'));
  if (S.admin !== 'teams') return;
  for (const team of list) S.teams.set(team.id, team);
  const rows = list.map((x) => h('tr', { 'data-id': x.id },
    h('td', { dir: 'auto' }, x.name || ''), h('td', null, x.assignment ? t('as_' + x.assignment) : ''),
    h('td', null, h('input', { type: 'checkbox', class: 'team-bot', checked: x.bot_answers_first !== false,
      'aria-label': t('team_bot', { name: x.name || x.id }), onchange: (e) => setTeamBot(x.id, e.currentTarget) })),
    h('td', null, fullTime(x.created_at)), h('td', null, h('code', null, x.id))));
  body.replaceChildren(list.length ? table([t('col_name'), t('col_assignment'), t('col_bot'), t('col_created'), t('col_id')], rows) : adminMessage(t('nothing')));
}

// Whether the knowledge base's bot answers the team's new conversations first (where it
// is on for the channel): saved as soon as it is ticked; put back if refused.
async function setTeamBot(id, box) {
  const on = box.checked;
  box.disabled = true;
  clearError();
  try {
    const team = await api('PATCH', '/v1/teams/' + enc(id), { bot_answers_first: on });
    if (team) S.teams.set(id, team);
    notice(t('saved'));
  } catch (err) { box.checked = !on; showError(err); } finally { box.disabled = false; }
}

// ---------------------------------------------------------------- incidents
const muted = (text) => h('p', { class: 'muted' }, text);
function field(id, label, control, hint) {
  if (hint) control.setAttribute('aria-describedby', id + '-hint');
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('span', { id: id + '-hint', class: 'hint' }, hint) : null);
}
// A button's work: the button rests meanwhile, and a refusal is shown in the alert.
async function busy(btn, work) {
  btn.disabled = true;
  clearError();
  try { await work(); } catch (err) { showError(err); } finally { btn.disabled = false; }
}
// The status texts in English and Persian (the list and the panel are never on the page together).
const textFields = (texts = {}) => ['en', 'fa'].map((l) => field('incident-text-' + l, t('inc_text', { lang: t('lang_' + l) }),
  h('textarea', { id: 'incident-text-' + l, rows: 3, maxlength: 1000, lang: l, dir: l === 'fa' ? 'rtl' : 'ltr' }, texts[l] || '')));
function readTexts(base) {
  const out = { ...base };
  for (const l of ['en', 'fa']) {
    const v = $('incident-text-' + l).value.trim();
    if (v) out[l] = v; else delete out[l];
  }
  return out;
}
const incChip = (state) => chip(t('inc_' + state), 'inc-' + state);
const linkedChips = (linked) => Object.entries(linked || {}).filter(([, n]) => n > 0).map(([c, n]) => chip(`${t('ch_' + c)} ${NUM.format(n)}`, 'channel'));
const textsList = (texts) => (Object.keys(texts || {}).length ? h('dl', { id: 'incident-texts', class: 'inc-texts' },
  Object.entries(texts).flatMap(([l, x]) => [h('dt', null, WORDS.en['lang_' + l] ? t('lang_' + l) : l), h('dd', { lang: l, dir: 'auto' }, x)]))
  : h('p', { id: 'incident-texts', class: 'muted' }, t('nothing')));

async function pageIncidents(body) {
  if (S.incident) return incidentPanel(body, S.incident);
  const sel = h('select', { id: 'incident-state' }, option('', t('status_all')),
    ['proposed', 'active', 'resolved'].map((x) => option(x, t('inc_' + x), x === S.incState)));
  sel.addEventListener('change', () => { S.incState = sel.value; refreshIncidents().catch(showError); });
  const form = h('form', { id: 'incident-form', class: 'card wide-card', novalidate: true }, h('h3', null, t('inc_declare')),
    field('incident-new-title', t('inc_title'), h('input', { id: 'incident-new-title', maxlength: 200, dir: 'auto' })),
    textFields(),
    field('incident-terms', t('inc_terms'), h('input', { id: 'incident-terms', dir: 'auto', autocomplete: 'off' }), t('inc_terms_hint')),
    h('div', null, h('button', { type: 'submit', class: 'btn primary', id: 'incident-declare' }, t('inc_declare'))));
  form.addEventListener('submit', declareIncident);
  body.replaceChildren(h('div', { class: 'field inline' }, h('label', { for: 'incident-state' }, t('status')), sel),
    h('div', { id: 'incident-list-box' }), form);
  await refreshIncidents();
}

// Fills again what changes under the agent's eyes, unless they are in it: the list, or the open incident.
async function refreshIncidents() {
  if (S.incident) return refreshPanel();
  const box = $('incident-list-box');
  const state = S.incState;
  if (!box || box.contains(document.activeElement)) return;
  const list = items(await api('GET', '/v1/incidents?limit=100' + (state ? '&state=' + enc(state) : '')));
  if (S.incident || state !== S.incState || !box.isConnected) return;
  box.replaceChildren(list.length ? h('ul', { id: 'incident-list', class: 'incident-list', 'aria-labelledby': 'admin-title' },
    list.map((x) => h('li', { class: 'incident', 'data-id': x.id, 'data-state': x.state }, h('a', { href: '#/incidents/' + x.id, class: 'conv-link' },
      h('span', { class: 'row1' }, h('span', { class: 'who' }, h('bdi', null, x.title)), timeEl(x.created_at, 'when')),
      h('span', { class: 'chips' }, incChip(x.state), linkedChips(x.linked))))))
    : adminMessage(t('nothing')));
}

async function incidentPanel(body, id) {
  const inc = await api('GET', '/v1/incidents/' + enc(id));
  if (S.incident !== id || S.admin !== 'incidents') return;
  const terms = (inc.match && inc.match.terms) || [];
  body.replaceChildren(h('p', null, h('a', { href: '#/incidents', id: 'incident-back' }, t('inc_back'))),
    h('section', { id: 'incident-panel', class: 'incident-panel', 'data-id': id, 'data-state': inc.state, 'aria-labelledby': 'incident-title' },
      h('h3', { id: 'incident-title', tabindex: '-1' }, h('bdi', null, inc.title)),
      h('p', { id: 'incident-meta', class: 'chips' }),
      h('h4', null, t('inc_texts')), textsList(inc.status_text),
      h('h4', null, t('inc_terms')),
      terms.length ? h('p', { class: 'chips' }, terms.map((x) => chip(x, 'tag'))) : muted(t('inc_no_terms')),
      inc.state === 'proposed' ? proposedForm(inc) : null,
      inc.state === 'active' ? updateForm(id) : null,
      h('div', { id: 'incident-live' })));
  await refreshPanel(inc);
}

async function refreshPanel(known) {
  const id = S.incident;
  const [inc, links] = await Promise.all([known || api('GET', '/v1/incidents/' + enc(id)),
    api('GET', `/v1/incidents/${enc(id)}/conversations?limit=100`)]);
  const panel = $('incident-panel');
  if (S.incident !== id || !panel || panel.dataset.id !== id) return;
  // Accepted or resolved meanwhile: the forms it offers change with it.
  if (panel.dataset.state !== inc.state) { renderAdmin('incidents'); return; }
  $('incident-meta').replaceChildren(incChip(inc.state), ...linkedChips(inc.linked), h('span', { class: 'muted small' },
    `${t('col_created')}: ${fullTime(inc.created_at)}`, inc.resolved_at ? ' · ' + t('inc_resolved_at', { time: fullTime(inc.resolved_at) }) : null));
  const live = $('incident-live');
  if (live.contains(document.activeElement)) return;
  const ups = inc.updates || [];
  const convs = items(links);
  live.replaceChildren(h('h4', null, t('inc_updates')),
    ups.length ? h('ol', { id: 'incident-updates', class: 'inc-updates' }, ups.map((u) => h('li', { 'data-id': u.id },
      h('div', { class: 'text', dir: 'auto' }, u.text),
      h('p', { class: 'muted small' }, h('bdi', null, agentName(u.author_id)), ' · ', timeEl(u.created_at), u.resolves ? ' · ' + t('inc_final') : null),
      u.progress ? h('p', { class: 'small' }, t('inc_progress', u.progress)) : null))) : muted(t('nothing')),
    h('h4', null, t('inc_conversations')),
    convs.length ? h('ul', { id: 'incident-conversations', class: 'other-convs' }, convs.map(({ link, conversation: c }) => h('li', { 'data-id': c.id },
      h('a', { href: '#/all/' + c.id }, h('bdi', null, c.contact_name || t('unnamed'))), ' ',
      chip(t('ch_' + link.channel), 'channel'), ' ', chip(t('status_' + c.status), 'status status-' + c.status),
      h('span', { class: 'muted small', dir: 'auto' }, c.preview || '')))) : muted(t('nothing')));
}

function proposedForm(inc) {
  const save = async () => {
    Object.assign(inc, await api('PUT', '/v1/incidents/' + enc(inc.id), { title: inc.title, status_text: readTexts(inc.status_text), match: inc.match || {} }));
    $('incident-texts').replaceWith(textsList(inc.status_text));
  };
  const form = h('form', { id: 'incident-edit', class: 'card wide-card', novalidate: true }, textFields(inc.status_text),
    h('div', { class: 'button-row' }, h('button', { type: 'submit', class: 'btn', id: 'incident-save' }, t('inc_save')),
      h('button', { type: 'button', class: 'btn primary', id: 'incident-accept', onclick: (e) => busy(e.currentTarget, async () => {
        // Texts typed but not saved go first: a proposal without any is refused (422).
        const texts = readTexts(inc.status_text);
        if (Object.keys(texts).length && JSON.stringify(texts) !== JSON.stringify(inc.status_text)) await save();
        await api('POST', `/v1/incidents/${enc(inc.id)}/accept`);
        notice(t('inc_accepted'));
        await renderAdmin('incidents');
        if ($('incident-title')) $('incident-title').focus();
      }) }, t('inc_accept'))));
  form.addEventListener('submit', (e) => { e.preventDefault(); busy($('incident-save'), async () => { await save(); notice(t('saved')); }); });
  return form;
}

function updateForm(id) {
  const form = h('form', { id: 'incident-update', class: 'card wide-card', novalidate: true },
    field('incident-update-text', t('inc_update_label'), h('textarea', { id: 'incident-update-text', rows: 3, maxlength: 2000, dir: 'auto' })),
    h('div', { class: 'field check' }, h('input', { type: 'checkbox', id: 'incident-resolve' }), h('label', { for: 'incident-resolve' }, t('inc_resolve'))),
    h('div', null, h('button', { type: 'submit', class: 'btn primary', id: 'incident-post-update' }, t('inc_post'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const box = $('incident-update-text');
    const text = box.value.trim();
    if (!text) { showError(t('empty_text')); box.focus(); return; }
    busy($('incident-post-update'), async () => {
      await api('POST', `/v1/incidents/${enc(id)}/updates`, $('incident-resolve').checked ? { text, resolve: 'all' } : { text });
      box.value = '';
      notice(t('inc_posted'));
      await refreshPanel();
    });
  });
  return form;
}

function declareIncident(ev) {
  ev.preventDefault();
  const title = $('incident-new-title').value.trim();
  const status_text = readTexts();
  if (!title || !Object.keys(status_text).length) {
    showError(t('inc_need'));
    $(title ? 'incident-text-en' : 'incident-new-title').focus();
    return;
  }
  const terms = $('incident-terms').value.split(/[,،]/).map((x) => x.trim()).filter(Boolean);
  busy($('incident-declare'), async () => {
    const inc = await api('POST', '/v1/incidents', { title, status_text, match: { terms } });
    notice(t('inc_declared'));
    go('#/incidents/' + inc.id);
  });
}

// ---------------------------------------------------------------- reports
const PCT = new Intl.NumberFormat(L === 'fa' ? 'fa-IR' : 'en-GB', { style: 'percent', maximumFractionDigits: 0 });
const num = (n, show) => (typeof n === 'number' ? show(n) : '—');
const count = (n) => num(n, NUM.format);
const pct = (x) => num(x, PCT.format);
const tenth = (x) => Math.round(x * 10) / 10;
const duration = (secs) => num(secs, (s) => (s < 60 ? t('dur_s', { n: Math.round(s) })
  : s < 3600 ? t('dur_min', { n: Math.round(s / 60) }) : s < 172800 ? t('dur_h', { n: tenth(s / 3600) }) : t('dur_d', { n: tenth(s / 86400) })));
// The figure cards, each read from a Summary (the period's, or the one before); its word is fig_<key>.
const FIGURES = {
  conversations: (s) => count(s.conversations_count),
  incoming: (s) => count(s.incoming_messages_count),
  outgoing: (s) => count(s.outgoing_messages_count),
  resolutions: (s) => count(s.resolutions_count),
  reopened: (s) => count(s.reopened_count),
  fcr: (s) => pct(s.fcr_rate),
  first_median: (s) => duration((s.first_response || {}).median_secs),
  first_p90: (s) => duration((s.first_response || {}).p90_secs),
  resolution_median: (s) => duration((s.resolution_time || {}).median_secs),
  csat: (s) => pct((s.csat || {}).satisfied_rate),
  rating: (s) => num((s.csat || {}).average, (v) => t('rating_of', { v: tenth(v) })),
};
const localDay = (d) => [d.getFullYear(), d.getMonth() + 1, d.getDate()].map((n) => String(n).padStart(2, '0')).join('-');

async function pageReports(body) {
  const days = S.reportDays;
  const now = new Date();
  const q = new URLSearchParams({ since: localDay(new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1 - days)), until: localDay(now) });
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (tz) q.set('tz', tz);
  const [rep, by] = await Promise.all([api('GET', '/v1/reports/summary?' + q),
    S.agent.role === 'admin' ? api('GET', '/v1/reports/by/agent?' + q).catch((err) => { showError(err); return null; }) : null]);
  if (S.admin !== 'reports' || days !== S.reportDays) return;
  const sel = h('select', { id: 'report-range' }, [7, 30].map((n) => option(String(n), t('rep_' + n), n === days)));
  sel.addEventListener('change', async () => {
    S.reportDays = Number(sel.value);
    await renderAdmin('reports');
    if ($('report-range')) $('report-range').focus();
  });
  const csat = rep.csat || {};
  const cols = ['conversations', 'resolutions', 'first_median', 'resolution_median', 'csat'];
  const rows = items(by).map((r) => h('tr', { 'data-dimension': r.dimension }, h('td', { dir: 'auto' }, r.name), cols.map((k) => h('td', null, FIGURES[k](r)))));
  body.replaceChildren(
    h('div', { class: 'report-bar' }, h('div', { class: 'field inline' }, h('label', { for: 'report-range' }, t('rep_range')), sel),
      h('a', { id: 'report-csv', href: `/v1/reports/summary?${q}&format=csv`, download: true }, t('rep_csv'))),
    h('p', { id: 'report-scope', class: 'muted' }, t(rep.dimension === 'all' ? 'rep_all' : 'rep_mine')),
    h('ul', { id: 'report-figures', class: 'figures', 'aria-labelledby': 'admin-title' }, Object.keys(FIGURES).map((key) => h('li', { class: 'figure', 'data-figure': key },
      h('span', { class: 'label' }, t('fig_' + key)),
      h('strong', { class: 'value' }, FIGURES[key](rep)),
      rep.previous ? h('span', { class: 'prev' }, t('rep_prev', { v: FIGURES[key](rep.previous) })) : null,
      key === 'csat' && csat.surveys_sent != null ? h('span', { class: 'prev' }, t('csat_answers', { n: csat.responses || 0, m: csat.surveys_sent })) : null))),
    ...(by ? [h('h3', { id: 'report-by-agent' }, t('rep_by_agent')),
      rows.length ? table([t('col_agent'), ...cols.map((k) => t('fig_' + k))], rows, 'report-by-agent') : adminMessage(t('nothing'))] : []));
}

// ---------------------------------------------------------------- knowledge base
const KB_LANGS = ['en', 'fa'];
const SLUG = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const kbChip = (status) => chip(t('kb_' + status), 'kb-' + status);
const langName = (l) => (WORDS.en['lang_' + l] ? t('lang_' + l) : l);
const cut = (s, n) => {
  const x = String(s || '').replace(/\s+/g, ' ').trim();
  return x.length > n ? x.slice(0, n - 1).trimEnd() + '…' : x;
};

// The list beside (on a narrow screen: above) the open article, or the week's figures.
async function pageKnowledge(body) {
  const id = S.article;
  const f = S.kbFilter;
  const pick = (key, anyWord, values, word) => {
    const sel = h('select', { id: 'kb-filter-' + key }, option('', t(anyWord)), values.map((v) => option(v, word(v), v === f[key])));
    sel.addEventListener('change', () => { f[key] = sel.value; kbList().catch(showError); });
    return h('div', { class: 'field' }, h('label', { for: 'kb-filter-' + key }, t(key === 'status' ? 'status' : 'kb_language')), sel);
  };
  const main = h('div', { class: 'kb-main' });
  body.replaceChildren(h('div', { class: 'kb-layout' + (id ? ' editing' : '') },
    h('div', { class: 'kb-side' },
      h('div', { class: 'kb-bar' }, pick('status', 'status_all', ['draft', 'published'], (x) => t('kb_' + x)),
        pick('language', 'kb_any_language', KB_LANGS, langName),
        h('button', { type: 'button', id: 'kb-new', class: 'btn primary', onclick: () => go('#/knowledge/new') }, t('kb_new'))),
      h('div', { id: 'kb-list-box' })),
    main));
  await Promise.all([kbList(), id ? kbEditor(main, id) : kbFigures(main)]);
}

async function kbList(cursor) {
  const f = { ...S.kbFilter };
  const q = new URLSearchParams({ limit: '50' });
  if (f.status) q.set('status', f.status);
  if (f.language) q.set('language', f.language);
  if (cursor) q.set('cursor', cursor);
  const page = await api('GET', '/v1/articles?' + q);
  const box = $('kb-list-box');
  if (!box || S.admin !== 'knowledge' || JSON.stringify(f) !== JSON.stringify(S.kbFilter)) return;
  const rows = items(page).map((a) => h('li', { class: 'incident kb-item', 'data-id': a.id, 'data-status': a.status },
    h('a', { href: '#/knowledge/' + a.id, class: 'conv-link', 'aria-current': a.id === S.article ? 'page' : null },
      h('span', { class: 'row1' }, h('span', { class: 'who' }, h('bdi', null, a.title)), timeEl(a.updated_at, 'when')),
      h('span', { class: 'chips' }, kbChip(a.status), chip(langName(a.language), 'channel'), a.category ? chip(a.category, 'tag') : null))));
  const list = cursor && $('kb-list');
  if (list) list.append(...rows);
  else box.replaceChildren(h('ul', { id: 'kb-list', class: 'incident-list', 'aria-label': t('kb_articles') }, rows), ...(rows.length ? [] : [adminMessage(t('nothing'))]));
  const old = box.querySelector('.more');
  if (old) old.remove();
  if (page && page.next_cursor) {
    box.append(h('div', { class: 'more' }, h('button', { type: 'button', class: 'btn', onclick: (e) => {
      e.currentTarget.disabled = true;
      kbList(page.next_cursor).catch(showError);
    } }, t('load_more'))));
  }
}

// The last 7 days (the knowledge base counts by UTC day), and the searches that found nothing.
async function kbFigures(main) {
  const day = (back) => new Date(Date.now() - back * 86400000).toISOString().slice(0, 10);
  const r = await api('GET', `/v1/reports/knowledge?since=${day(6)}&until=${day(0)}`).catch((err) => { showError(err); return null; });
  if (!r || !main.isConnected) return;
  const figs = [['self_served', count(r.self_served)], ['deflection', pct(r.deflection_rate)],
    ['searches', count(r.searches)], ['unanswered', count(r.unanswered_searches)]];
  const next = (r.unanswered || []).slice(0, 5);
  main.replaceChildren(h('section', { id: 'kb-figures', class: 'kb-figures', 'aria-labelledby': 'kb-figures-title' },
    h('h3', { id: 'kb-figures-title' }, t('rep_7')),
    h('ul', { class: 'figures' }, figs.map(([k, v]) => h('li', { class: 'figure', 'data-figure': k },
      h('span', { class: 'label' }, t('kb_fig_' + k)), h('strong', { class: 'value' }, v)))),
    h('h4', { id: 'kb-next-title' }, t('kb_write_next')),
    next.length ? h('ol', { id: 'kb-next', class: 'kb-next', 'aria-labelledby': 'kb-next-title' }, next.map((u) => h('li', null,
      h('bdi', null, u.words), ' ', h('span', { class: 'muted small' }, t('kb_times', { n: Number(u.count) || 0 }))))) : muted(t('nothing'))));
}

async function kbEditor(main, id) {
  const art = id === 'new' ? null : await api('GET', '/v1/articles/' + enc(id));
  const revs = art ? await api('GET', `/v1/articles/${enc(id)}/revisions`).catch(() => null) : null;
  if (S.article !== id || !main.isConnected) return;
  const a = art || { language: L, tags: [], status: 'draft' };
  const admin = S.agent.role === 'admin';
  const langs = KB_LANGS.includes(a.language) ? KB_LANGS : [...KB_LANGS, a.language];
  const status = h('select', { id: 'kb-status' }, ['draft', 'published'].map((x) => option(x, t('kb_' + x), x === a.status)));
  if (!admin) status.options[1].disabled = true;
  const slug = h('input', { id: 'kb-slug', value: a.slug || '', maxlength: 80, dir: 'ltr', autocomplete: 'off', spellcheck: 'false' });
  const title = h('input', { id: 'kb-title', value: a.title || '', maxlength: 200, dir: 'auto' });
  const text = h('textarea', { id: 'kb-body', rows: 14, maxlength: 50000, dir: 'auto' }, a.body || '');
  slug.addEventListener('input', () => { slug.dataset.touched = '1'; });
  // A new article's address follows its (Latin) title until the author writes one.
  if (!art) title.addEventListener('input', () => {
    if (!slug.dataset.touched) slug.value = title.value.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 80).replace(/^-+|-+$/g, '');
  });
  const form = h('form', { id: 'kb-form', class: 'card kb-form', novalidate: true, 'aria-labelledby': 'kb-heading' },
    h('a', { href: '#/knowledge', class: 'kb-back' }, t('kb_back')),
    h('h3', { id: 'kb-heading', tabindex: '-1' }, h('bdi', null, art ? art.title : t('kb_new'))),
    art ? h('p', { id: 'kb-meta', class: 'chips' }, kbChip(art.status), chip(t('kb_revision', { n: art.revision }), 'tag'),
      h('span', { class: 'muted small' }, t('by', { name: agentName(art.updated_by) }), ' · ', timeEl(art.updated_at))) : null,
    field('kb-title', t('kb_title'), title),
    field('kb-slug', t('kb_slug'), slug, t('kb_slug_hint')),
    h('div', { class: 'kb-row' },
      field('kb-language', t('kb_language'), h('select', { id: 'kb-language' }, langs.map((l) => option(l, langName(l), l === a.language)))),
      field('kb-category', t('kb_category'), h('input', { id: 'kb-category', value: a.category || '', maxlength: 50, dir: 'auto' })),
      field('kb-status', t('status'), status, admin ? null : t('kb_status_hint'))),
    field('kb-tags', t('tags'), h('input', { id: 'kb-tags', value: (a.tags || []).join(', '), dir: 'auto', autocomplete: 'off' }), t('kb_tags_hint')),
    field('kb-body', t('kb_body'), text),
    h('div', { class: 'button-row' },
      h('button', { type: 'submit', class: 'btn primary', id: 'kb-save' }, t('kb_save')),
      h('button', { type: 'button', class: 'btn', id: 'kb-reload', hidden: true, onclick: () => renderAdmin('knowledge') }, t('kb_reload')),
      art && admin ? h('button', { type: 'button', class: 'btn danger', id: 'kb-delete', onclick: (e) => kbDelete(e.currentTarget, art) }, t('kb_delete')) : null,
      art && art.status === 'published' ? h('a', { id: 'kb-view', href: '/help/' + enc(art.slug), target: '_blank', rel: 'noopener' }, t('kb_view')) : null));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const b = { slug: slug.value.trim(), language: $('kb-language').value, category: $('kb-category').value.trim() || null,
      tags: [...new Set($('kb-tags').value.split(/[,،]/).map((x) => x.trim()).filter(Boolean))],
      title: title.value.trim(), body: text.value, status: status.value };
    const bad = !b.title ? title : !SLUG.test(b.slug) ? slug : !b.body.trim() ? text : null;
    if (bad) { showError(t('kb_need')); bad.focus(); return; }
    // The revision read: a save by someone else in between is refused (409), not written over.
    if (art) b.revision = art.revision;
    busy($('kb-save'), async () => {
      let saved;
      try {
        saved = await api(art ? 'PUT' : 'POST', art ? '/v1/articles/' + enc(art.id) : '/v1/articles', b);
      } catch (err) {
        if (art && err instanceof ApiError && err.status === 409) { show($('kb-reload'), true); throw new Error(t('kb_conflict')); }
        throw err;
      }
      notice(t('saved'));
      if (art) await renderAdmin('knowledge'); else go('#/knowledge/' + saved.id);
    });
  });
  const older = items(revs).slice().reverse();
  main.replaceChildren(form, ...(art ? [h('section', { class: 'kb-revs', 'aria-labelledby': 'kb-revisions-title' },
    h('h4', { id: 'kb-revisions-title' }, t('kb_revisions')),
    h('ol', { id: 'kb-revisions', class: 'inc-updates' }, older.map((r) => h('li', { 'data-revision': r.revision },
      h('p', { class: 'small' }, h('strong', null, t('kb_revision', { n: r.revision })), ' ', kbChip(r.status), ' · ',
        h('bdi', null, agentName(r.updated_by)), ' · ', timeEl(r.updated_at)),
      h('details', null, h('summary', null, h('bdi', null, r.title)), h('div', { class: 'text', dir: 'auto' }, r.body || ''))))))] : []));
  if (!document.activeElement || document.activeElement === document.body) (art ? $('kb-heading') : title).focus();
}

function kbDelete(btn, art) {
  if (!window.confirm(t('kb_delete_confirm', { title: art.title }))) return;
  busy(btn, async () => {
    await api('DELETE', '/v1/articles/' + enc(art.id));
    notice(t('kb_deleted'));
    go('#/knowledge');
  });
}

// ---------------------------------------------------------------- suggested answers
// A suggestion goes into the reply box, never out: the agent reads it and sends.
function putReply(id, text) {
  if (S.openId !== id || !text) return;
  const box = $('reply-body');
  if (S.mode === 'note' && box.value.trim()) { showError(t('sg_note_open')); box.focus(); return; }
  setMode('reply', false);
  box.value = box.value.trim() ? box.value.replace(/\s+$/, '') + '\n\n' + text : text;
  box.focus();
  notice(t('sg_put'));
}

// Asked for when a conversation opens and when its timeline refreshes: at most once in 30 s.
async function loadSuggestions(id) {
  const had = S.sug.get(id);
  const due = !had || Date.now() - had.at >= 30000;
  if (due) S.sug.set(id, { at: Date.now(), data: had && had.data });
  renderSuggestions(id);
  if (!due) return;
  let data;
  try { data = await api('GET', `/v1/conversations/${enc(id)}/suggestions`); } catch (err) { data = { error: errorText(err) }; }
  S.sug.set(id, { at: Date.now(), data: data || {} });
  renderSuggestions(id);
}

function renderSuggestions(id, force) {
  const panel = $('suggestions');
  const body = $('suggestions-body');
  if (S.openId !== id || (!force && panel.dataset.conv === id && body.contains(document.activeElement))) return;
  panel.dataset.conv = id;
  const d = (S.sug.get(id) || {}).data;
  const ok = d && !d.error;
  const have = new Set((S.conv && S.conv.id === id && S.conv.tags) || []);
  const arts = ok ? (d.articles || []).slice(0, 3) : [];
  const sims = ok ? (d.similar || []).slice(0, 3) : [];
  const tags = ok ? (d.tags || []).filter((x) => x && x.tag && !have.has(x.tag)).slice(0, 8) : [];
  const n = arts.length + sims.length;
  $('suggestions-count').textContent = n ? `(${NUM.format(n)})` : '';
  show(panel, !(ok && !n && !tags.length));
  const use = (cls, label, what, work) => h('button', { type: 'button', class: 'btn small ' + cls, 'aria-label': `${label}: ${what}`,
    onclick: (e) => busy(e.currentTarget, work) }, label);
  body.replaceChildren(...[
    !d ? muted(t('loading')) : d.error ? muted(d.error) : n || tags.length ? null : muted(t('sg_none')),
    arts.length ? [h('h3', { id: 'sg-articles' }, t('sg_articles')), h('ul', { class: 'sg-list', 'aria-labelledby': 'sg-articles' }, arts.map((a) => h('li', { 'data-id': a.id },
      h('p', null, h('strong', null, h('bdi', null, a.title)), a.confident ? [' ', chip(t('sg_confident'), 'status-open')] : null),
      a.summary ? h('p', { class: 'muted', dir: 'auto' }, cut(a.summary, 240)) : null,
      h('div', { class: 'sg-actions' }, use('use-article', t('sg_use_article'), a.title, async () => {
        const r = await api('GET', `/v1/conversations/${enc(id)}/articles/${enc(a.id)}/reply`);
        putReply(id, r && r.text);
      }), /^(https?:\/\/|\/)/.test(a.url || '') ? h('a', { href: a.url, target: '_blank', rel: 'noopener' }, t('kb_view')) : null)))),
      d.drafting ? h('div', { class: 'sg-ai' }, h('button', { type: 'button', class: 'btn small ai-draft', 'aria-describedby': 'sg-ai-hint',
        onclick: (e) => busy(e.currentTarget, async () => {
          notice(t('sg_ai_working'));
          const r = await api('POST', `/v1/conversations/${enc(id)}/ai-draft`, {});
          putReply(id, r && r.text);
        }) }, t('sg_ai_draft')), h('p', { id: 'sg-ai-hint', class: 'muted small' }, t('sg_ai_hint'))) : null] : null,
    sims.length ? [h('h3', { id: 'sg-similar' }, t('sg_similar')), h('ul', { class: 'sg-list', 'aria-labelledby': 'sg-similar' }, sims.map((x) => h('li', { 'data-id': x.conversation_id },
      h('p', null, h('span', { class: 'muted' }, t('sg_question')), ' ', h('bdi', null, cut(x.question, 200))),
      h('p', null, h('span', { class: 'muted' }, t('sg_answer')), ' ', h('bdi', null, cut(x.answer, 300))),
      h('div', { class: 'sg-actions' }, use('use-answer', t('sg_use_answer'), cut(x.question, 60), async () => putReply(id, x.answer)),
        h('a', { href: `#/${S.view || 'all'}/${x.conversation_id}` }, t('sg_open')), timeEl(x.resolved_at, 'when')))))] : null,
    tags.length ? [h('h3', { id: 'sg-tags' }, t('sg_tags')), h('p', { class: 'chips', role: 'group', 'aria-labelledby': 'sg-tags' }, tags.map((x) => h('button', {
      type: 'button', class: 'btn small suggest-tag', 'data-tag': x.tag, 'aria-label': t('sg_add_tag', { tag: x.tag }), onclick: (e) => suggestTag(id, x.tag, e.currentTarget),
    }, '+', h('bdi', null, '#' + x.tag))))] : null,
  ].flat().filter(Boolean));
}

// The same way as the tags box: the conversation's tags with this one more.
async function suggestTag(id, tag, btn) {
  if (!S.conv || S.conv.id !== id) return;
  if (!(await patchConversation({ tags: parseTags([...(S.conv.tags || []), tag].join(',')) }, btn))) return;
  notice(t('saved'));
  renderSuggestions(id, true);
  if (document.activeElement === document.body) $('suggestions-summary').focus();
}

// ---------------------------------------------------------------- keyboard
const typing = (el) => !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));

function move(delta) {
  const lis = [...$('conversation-list').children];
  if (!lis.length) return;
  let i = lis.findIndex((li) => li.dataset.id === S.openId);
  i = i < 0 ? (delta > 0 ? 0 : lis.length - 1) : Math.min(lis.length - 1, Math.max(0, i + delta));
  const li = lis[i];
  go(`#/${S.view}/${li.dataset.id}`, true);
  const a = li.querySelector('a');
  if (a && wide()) a.focus({ preventScroll: true });
  li.scrollIntoView({ block: 'nearest' });
}
function openSelected() {
  const el = document.activeElement;
  const li = (el && el.closest && el.closest('li.conversation')) || $('conversation-list').firstElementChild;
  if (li) go(`#/${S.view}/${li.dataset.id}`);
}
// Your own password: a new one ends every session of yours, this one too.
async function savePassword(ev) {
  ev.preventDefault();
  const fresh = $('password-new').value;
  const said = $('password-error');
  said.textContent = '';
  if (fresh.length < 12 || fresh.length > 256) { said.textContent = t('password_short'); $('password-new').focus(); return; }
  const btn = $('password-save');
  btn.disabled = true;
  try {
    await api('PUT', '/v1/me/password', { current_password: $('password-current').value, new_password: fresh });
    $('password-form').reset();
    $('password-dialog').close();
    signedOut(false);
  } catch (err) {
    said.textContent = (err && err.message) || t('ds_failed');
  } finally {
    btn.disabled = false;
  }
}

function toggleHelp() {
  const d = $('help-dialog');
  if (d.open) d.close(); else d.showModal();
}

function onKey(e) {
  if (!S.agent) return;
  const target = e.target;
  if (e.key === 'Escape') {
    if (document.querySelector('dialog[open]')) return;
    if (document.body.classList.contains('show-contact')) { toggleContact(false); e.preventDefault(); return; }
    if (typing(target)) { target.blur(); e.preventDefault(); }
    return;
  }
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    if (target && target.id === 'reply-body') { e.preventDefault(); send(); }
    return;
  }
  if (typing(target) || e.ctrlKey || e.metaKey || e.altKey) return;
  if (document.querySelector('dialog[open]') && e.key !== '?') return;
  const inConv = !!S.conv && !S.admin;
  switch (e.key) {
    case 'j': if (!S.admin) { e.preventDefault(); move(1); } break;
    case 'k': if (!S.admin) { e.preventDefault(); move(-1); } break;
    case 'o': if (!S.admin) { e.preventDefault(); openSelected(); } break;
    case 'Enter': if (target === document.body && !S.admin) { e.preventDefault(); openSelected(); } break;
    case 'r': if (inConv) { e.preventDefault(); setMode('reply', true); } break;
    case 'n': if (inConv) { e.preventDefault(); setMode('note', true); } break;
    case 'e': if (inConv && S.conv.status !== 'resolved') { e.preventDefault(); patchConversation({ status: 'resolved' }, $('status-resolve')); } break;
    case 'a': if (inConv) { e.preventDefault(); $('assign-select').focus(); } break;
    case '/': e.preventDefault(); $('search').focus(); $('search').select(); break;
    case '?': e.preventDefault(); toggleHelp(); break;
    default:
  }
}

function toggleContact(on) {
  document.body.classList.toggle('show-contact', on);
  $('contact-toggle').setAttribute('aria-expanded', String(on));
  if (on) $('contact-close').focus(); else $('contact-toggle').focus();
}

// ---------------------------------------------------------------- wiring
function bind() {
  $('signin-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', signOut);
  $('lang-toggle').addEventListener('click', () => {
    document.cookie = `sb_lang=${L === 'fa' ? 'en' : 'fa'}; Path=/; SameSite=Strict; Max-Age=31536000`;
    location.reload();
  });
  $('alert-close').addEventListener('click', clearError);
  $('help-open').addEventListener('click', toggleHelp);
  $('password-open').addEventListener('click', () => { $('password-error').textContent = ''; $('password-dialog').showModal(); $('password-current').focus(); });
  $('password-cancel').addEventListener('click', () => { $('password-form').reset(); $('password-dialog').close(); });
  $('password-form').addEventListener('submit', savePassword);
  $('help-close').addEventListener('click', () => $('help-dialog').close());
  window.addEventListener('hashchange', route);
  document.addEventListener('keydown', onKey);

  let searchTimer = 0;
  const search = $('search');
  const runSearch = () => {
    clearTimeout(searchTimer);
    const q = search.value.trim();
    if (q === S.filters.q) return;
    S.filters.q = q;
    if (S.view) loadList('fresh'); else go('#/all');
  };
  search.addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 400); });
  search.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); runSearch(); } });
  const filter = (id, key, read) => $(id).addEventListener('change', (e) => {
    S.filters[key] = read(e.target);
    if (S.view) loadList('fresh'); else go('#/mine');
  });
  filter('filter-status', 'status', (el) => el.value);
  filter('filter-channel', 'channel', (el) => el.value);
  filter('filter-priority', 'priority', (el) => el.value);
  filter('filter-sort', 'sort', (el) => el.value);
  filter('filter-team', 'team', (el) => el.value);
  filter('filter-tag', 'tag', (el) => el.value.trim().toLowerCase());
  filter('filter-waiting', 'waiting', (el) => el.checked);
  $('list-more').addEventListener('click', () => loadList('more'));

  $('back').addEventListener('click', () => {
    const id = S.openId;
    go('#/' + (S.view || 'mine'));
    const link = id && $('conversation-list').querySelector(`li[data-id="${CSS.escape(id)}"] a`);
    if (link) link.focus();
  });
  $('contact-toggle').addEventListener('click', () => toggleContact(!document.body.classList.contains('show-contact')));
  $('contact-close').addEventListener('click', () => toggleContact(false));

  $('assign-select').addEventListener('change', (e) => patchConversation({ assignee_id: e.target.value || null }, e.target));
  $('priority-select').addEventListener('change', (e) => patchConversation({ priority: e.target.value }, e.target));
  $('tags-input').addEventListener('change', (e) => {
    if (!S.conv || e.target.dataset.conv !== S.conv.id) return;
    const tags = parseTags(e.target.value);
    if (JSON.stringify(tags) === JSON.stringify(S.conv.tags || [])) return;
    patchConversation({ tags }, null).then((ok) => { if (ok) notice(t('saved')); });
  });
  $('tags-input').addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); e.target.blur(); } });
  $('status-resolve').addEventListener('click', (e) => patchConversation({ status: 'resolved' }, e.currentTarget));
  $('status-reopen').addEventListener('click', (e) => patchConversation({ status: 'open' }, e.currentTarget));
  $('status-pending').addEventListener('click', (e) => patchConversation({ status: 'pending' }, e.currentTarget));
  $('status-snooze').addEventListener('click', (e) => patchConversation({ status: 'snoozed', snoozed_until: snoozeUntil($('snooze-select').value) }, e.currentTarget));

  $('composer').addEventListener('submit', send);
  $('mode-reply').addEventListener('click', () => setMode('reply', true));
  $('mode-note').addEventListener('click', () => setMode('note', true));
  $('reply-channel').addEventListener('change', () => { S.channelTouched = true; channelHint(); });

  $('merge-input').addEventListener('input', mergeSearch);
  $('merge-form').addEventListener('submit', (e) => { e.preventDefault(); openMerge($('merge-input').value); });
  $('contact-pane').addEventListener('click', (e) => {
    const b = e.target.closest && e.target.closest('[data-merge]');
    if (b) openMerge(b.getAttribute('data-merge'));
  });
  $('merge-confirm-form').addEventListener('submit', confirmMerge);
  $('merge-cancel').addEventListener('click', () => $('merge-dialog').close());
}

async function boot() {
  applyWords();
  bind();
  const first = fetchFirstPage();
  let session;
  try {
    session = await api('GET', '/v1/session', undefined, { quiet: true });
  } catch (err) {
    showSignin();
    if (!(err instanceof ApiError && err.status === 401)) showError(err);
    return;
  }
  start(session, first);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot); else boot();
})();

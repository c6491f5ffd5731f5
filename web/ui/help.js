// The Contextual Help panel (`[features] enable-contextual-help = true`): a help button in the
// top bar opens a side panel with the topic of the panel on screen, and follows the route while
// it stays open; a search over every topic's title and text (as you type), a table of contents,
// and each topic's related topics. Escape or Close closes it. The topics are data (TOPICS),
// written for Ringback and rendered with htm: a block is a paragraph (a string), a list, steps,
// terms, a note or a command, and text in `backticks` is shown as code.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { html } from './lib.js';

// ---- the topics ------------------------------------------------------------------------------
/**
 * Each topic: id, title, area (Guide, Panel or Tools), routes (the hash routes it explains:
 * `callback`, `tools/metrics`), body (blocks) and related (topic ids).
 */
export const TOPICS = [
  {
    id: 'getting-started', area: 'Guide', title: 'Getting Started', routes: [],
    body: [
      'The Service Management UI is the administration hub of a Ringback server. The server itself serves it at `/genesys/`, with everything it needs: nothing is loaded from elsewhere.',
      'Log in with a user name and password made on this server (see Roles and Permissions). Five failed attempts for one name from one address lock that name out for five minutes. A login ends with Log Out, after 30 minutes without activity, or after 12 hours; the page then asks you to log in again.',
      'The top bar shows the panels your role may open, your name and role (point at them to see the services you are limited to), this help and Log Out:',
      { list: [
        'Monitor: the nodes of the cluster, up or down.',
        'Services: the configured services and their parameters.',
        'Office Hours: the calendars of the office-hours services.',
        'Callback: the callbacks of a time range, live.',
        'Tools: templates, users, resources, patterns, metrics and more.',
        'Context Services and Journey Timeline: customer journeys, when `[cview]` enables them.',
      ] },
      'Every action reports its result in a notice at the bottom right: green when it worked, red with the server\'s reason when it did not. Notices go away by themselves; × dismisses one at once.',
      'If the server stops answering, the page shows Server Connection Error and asks again every five seconds. It comes back by itself when the server answers.',
      { note: 'A server without users is open: anyone who reaches it can administer it. The page says so in a banner and offers to create the first Administrator.' },
    ],
    related: ['roles', 'features', 'callback', 'monitor'],
  },
  {
    id: 'roles', area: 'Guide', title: 'Roles and Permissions', routes: [],
    body: [
      'Every user has one of three roles. The server checks each request against the role, so what the page does not offer to a role, the API refuses as well.',
      { terms: [
        ['Administrator', 'Opens every panel and changes everything: services, office hours, callbacks, templates, users, resources, patterns and exception lists.'],
        ['Supervisor', 'Opens the same panels and reads them, but changes only callbacks: creates, reschedules and cancels them.'],
        ['CallbackReadOnly', 'Opens only the Callback panel, and only reads it.'],
      ] },
      'A user can be limited to some services, or to virtual service groups (services join a group with their `_service_groups` option). Such a user sees only those services, in every panel and in the API; the others answer as if they did not exist.',
      { note: 'Ringback keeps its users in its own store, not in a Genesys configuration server: there are no Person objects, access groups or GAX permissions to set up.' },
      'Make users on the server\'s machine, with the data folder the server uses (`--data-dir`). The password is read from standard input, or asked for on a terminal:',
      { code: 'ringback user add ann --role Administrator\nringback user add sam --role Supervisor --services callback-delayed,callback-immediate\nringback user list\nringback user remove sam' },
      'An Administrator can also add, change and remove users in Tools > Users. The server always keeps one Administrator: it refuses to remove the last one or to change its role.',
    ],
    related: ['tools-users', 'getting-started', 'features'],
  },
  {
    id: 'monitor', area: 'Panel', title: 'Monitor', routes: ['monitor'],
    body: [
      'One card for each node of the cluster: this node (marked "this node") and each node listed in `[cluster] nodes` of the configuration. Ringback asks the other nodes for their status with the `[server]` credentials.',
      { terms: [
        ['Green bar', 'The node answered: ONLINE.'],
        ['Red bar', 'The node did not answer, or answered with an error; the status says why.'],
      ] },
      'A card shows the status, the node\'s address and, when it answered, its version, how long it has been up, its live sessions and how long it took to answer.',
      'The panel checks every three minutes by itself; Refresh checks now. The line above the cards says how many nodes are up and when they were last checked.',
    ],
    related: ['getting-started', 'tools-metrics', 'tools-config'],
  },
  {
    id: 'services', area: 'Panel', title: 'Services', routes: ['services'],
    body: [
      'The list on the left holds the configured services, grouped by the template they were made from. Search Items narrows it by name and the template list shows one template only; click a group\'s name to fold it. Click a service to open its parameters.',
      'Create (Administrators) makes a service from a template: choose the Service Template, a Service Name (letters, digits, `-`, `_` and `.`) and, when the template has them, a Common Default Configuration, a preset set of values. A name already in use is refused.',
      'A service shows the URL its clients call (`/genesys/1/service/callback/NAME` for a callback service, `/genesys/1/service/NAME` for the others) and its parameters:',
      { terms: [
        ['Lock icon', 'Mandatory: cannot be renamed or removed. `_type` and `_service` cannot be changed at all.'],
        ['advanced', 'Shown only with Advanced Parameters checked.'],
        ['Request Parameter', 'A value a client may also send with each request.'],
        ['Not specified', 'No value: the template\'s default applies, when it has one.'],
      ] },
      { list: [
        'Click a value to edit it: Enter or Save stores it, Escape or Cancel drops the change. Parameters with a fixed set of values offer them in a list.',
        'Add New adds a parameter; its name must be a valid ECMAScript variable name (no `.` or `-`, not starting with a digit, not a reserved word).',
        'Rename gives a parameter another name; the trash can removes its value (it becomes not specified).',
        'Filter parameters and the category list narrow the table; Delete Service removes the service, and its clients get 404 from then on.',
      ] },
      'The server checks each value against its template: a value that does not parse is refused, with the reason. Supervisors see only their services, and read them.',
      'Opening a capacity service also shows its weekly capacity grid, above the parameters.',
    ],
    related: ['tools-templates', 'capacity', 'roles', 'tools-exceptions'],
  },
  {
    id: 'office-hours', area: 'Panel', title: 'Office Hours', routes: ['office-hours'],
    body: [
      'The office-hours services, one at a time. Create (Administrators) makes a new one from the office-hours template; a callback service uses one by naming it in its `_business_hours_service` option.',
      'Calendar shows the open periods the server computes (regular hours, holidays, exceptions and imported calendars) by day, week or month. ‹ and › move, Today comes back. The calendar is shown in the display time zone, written at the right of its toolbar.',
      'To change the hours, click a day of the calendar:',
      { list: [
        'Holiday: closed all day on that date.',
        'Exception: open from one time to another on that date, even on a holiday.',
        'This is an Annual Event: the holiday or exception recurs on that date every year.',
        'With Regular Office Hours checked, clicking a day adds weekly hours for that weekday instead.',
      ] },
      'Table lists the options by kind: Regular Hours, Holidays, Special Office Hours, Imported Rule Calendars and Imported Schedule Calendars. Edit a value in place, + adds one to a kind, the trash can removes one; Save stores the changes and Revert drops them.',
      'Settings sets the Display Timezone (the browser\'s by default) and the office\'s own time zone, `_timezone`. The calendar can be edited only when the two are the same; otherwise it is read-only and says so.',
      'Clone copies the service under a new name. Delete removes it: services that name it in `_business_hours_service` lose their calendar. Supervisors read office hours and change nothing.',
    ],
    related: ['time-zones', 'capacity', 'services'],
  },
  {
    id: 'callback', area: 'Panel', title: 'Callback', routes: ['callback'],
    body: [
      'The callbacks whose desired time falls in the chosen range: Past or Next Day, Week or Month, a Custom Date Range, or a range saved under Advanced Options. Ranges are whole days in the browser\'s time zone. Changes arrive as they happen, without a reload; the "live" pill says they do.',
      'Each row shows the state (with the reason once COMPLETED), the desired callback time (the header names the browser\'s offset from GMT), the phone number, the service, and the extra columns: those `[callback] callback_column_alias` names, and those you add. "Not Specified" marks a callback without that value. Rows come in pages of 250.',
      'Search filters the rows as you type, in the column chosen next to it (phone number, state, service, ID or an extra column).',
      { terms: [
        ['Create Callback', 'Immediate or Scheduled, for a service and a customer number, with optional virtual queue, statistic and extra properties. For a scheduled one, choose a date, Check Availability, then a time slot (it says how many places are left).'],
        ['Pencil', 'Edit an open callback: reschedule a SCHEDULED one to another slot, or cancel it.'],
        ['↻ (a COMPLETED row)', 'Schedule the same callback again, as a new one; its properties can be changed first.'],
        ['QUEUED', 'Click it to see the queue: estimated wait, position, agents logged in and ready, queue, target, the agent reserved and the session.'],
        ['Advanced Options', 'Extra columns (a property name and an alias), saved date ranges (day offsets from today: -7 to 0 is the past week), a filter by states and by service, and the most callbacks read per service (500).'],
      ] },
      'Your choices in this panel are kept in this browser, for each user.',
      'When `disable-bulk-cancel-and-export-callback = false`, rows have check boxes: Cancel Callbacks cancels those selected, or every callback of the range that is not completed; Download Reports exports the callbacks cancelled that way (CSV) and the summary of the last bulk cancel.',
      'Administrators and Supervisors change callbacks; CallbackReadOnly users read them. A user limited to some services sees only their callbacks.',
    ],
    related: ['callback-states', 'capacity', 'time-zones', 'tools-exceptions'],
  },
  {
    id: 'tools-templates', area: 'Tools', title: 'Service Templates', routes: ['tools', 'tools/templates'],
    body: [
      'The templates services are made from: each names its options with their default value, description, section and kind (mandatory, optional, advanced or request), and may offer Common Default Configurations.',
      'Filter narrows the list; click a template to browse its options, with a search and a section list.',
      'Administrators Upload a template as a `.zip` file (the template takes the file\'s name, without `.zip`) and delete one. Services made from a deleted template keep their options, but no new service can be made from it.',
    ],
    related: ['services', 'tools-dfm'],
  },
  {
    id: 'tools-users', area: 'Tools', title: 'Users', routes: ['tools/users'],
    body: [
      'Who may log in, with their role and services ("All" when not limited). Only Administrators see this tool.',
      { list: [
        'Add User: a name, a role, the services or service groups (comma-separated; empty for all) and a password of 8 characters or more.',
        'The pencil changes the role, the services or the password (leave the password empty to keep it).',
        'The trash can removes the user: they can no longer log in.',
      ] },
      { note: 'Unlike GMS, Ringback keeps its users itself. This tool and `ringback user add NAME --role ROLE` (with `user list` and `user remove`) change the same store.' },
    ],
    related: ['roles', 'getting-started'],
  },
  {
    id: 'tools-resources', area: 'Tools', title: 'Resources', routes: ['tools/resources'],
    body: [
      'Shown when `enable-resources = true`. Groups of access numbers: a request-access service books a number of a group for a while, and the customer\'s call to that number is matched back to their session.',
      'The table shows each group\'s numbers, how many are free now (Available / Total), how the next number is chosen (round-robin or random) and how long a booking lasts. Refresh reads the counts again.',
      'Administrators add a group, edit one (the numbers one per line, the allocation and a booking expiration timeout of 5 to 1800 seconds) and delete one.',
    ],
    related: ['tools-metrics', 'tools-patterns', 'features'],
  },
  {
    id: 'tools-patterns', area: 'Tools', title: 'Patterns', routes: ['tools/patterns'],
    body: [
      'Shown when `enable-patterns = true`. Groups of named regular expressions, used by the Pattern Matcher API (`POST /genesys/1/patterns/group/{group}`), which answers the name of the pattern a value matches.',
      'Choose a group, then type in Test a value: the server matches it and the row of the matching pattern lights up, as the API would answer.',
      { list: [
        'Expressions use Java syntax and must match the whole value.',
        'A `_customer_number` is matched with a leading `+`.',
      ] },
      'Administrators edit names and expressions, Add Pattern, remove one with the trash can and Add Group; Save stores the whole group at once.',
    ],
    related: ['tools-resources', 'tools-exceptions', 'features'],
  },
  {
    id: 'tools-dfm', area: 'Tools', title: 'Download DFM', routes: ['tools/dfm'],
    body: [
      'Shown when `enable-downloaddfm = true`. The SCXML documents the services run, grouped by template, each a download link with its size.',
      'Ringback runs these documents itself. Where copies are deployed elsewhere, download them from here to keep them the same as this server\'s.',
    ],
    related: ['tools-templates', 'features'],
  },
  {
    id: 'tools-sample', area: 'Tools', title: 'Sample', routes: ['tools/sample'],
    body: [
      'Shown when `enable-sample = true`. A JavaScript sample application running against this server, inside the panel: pick a scenario, Connect, and follow its dialogs. Its notifications arrive over CometD.',
      'Open in a New Window gives it a tab of its own. Its source is in `samples/web/`, to start a customer application from.',
    ],
    related: ['callback', 'features'],
  },
  {
    id: 'tools-metrics', area: 'Tools', title: 'Metrics', routes: ['tools/metrics'],
    body: [
      'Shown when `enable-metrics = true`. Charts of the figures the server records every minute:',
      { terms: [
        ['Resources', 'A resource group\'s numbers: in use, available and in all.'],
        ['Services', 'How often each service was asked for.'],
        ['Callback', 'Callbacks by state. With Display Advanced Metrics: the hold time (by media type) or the QUEUED watermark (MIN, AVG and MAX).'],
        ['Operational', 'A resource group\'s available numbers, the average handle time, and how bookings ended (matched, timed out or cancelled).'],
      ] },
      'Choose a range (Last Hour to Last Month, or a Custom Range) and a rollup (1 minute to 1 day; one suited to the range is picked for you), then a service or a resource group. Refresh reads the figures again.',
      'Drag across the chart to zoom in and double-click to zoom out. Figures shows the numbers as a table and Export CSV downloads them. Times follow the browser\'s time zone; the line under the chart says how many days of history the server keeps.',
    ],
    related: ['callback-states', 'tools-resources', 'monitor'],
  },
  {
    id: 'tools-config', area: 'Tools', title: 'Config', routes: ['tools/config'],
    body: [
      'Shown when `enable-config = true`.',
      { note: 'In GMS this tool gives a Jetty snippet for port restrictions. Ringback has no Jetty and no port restrictions, so there is no snippet: it serves the API, this UI and CometD on the one address `ringback serve --listen ADDRESS` gives it.' },
      'To keep administration off a public address, put a reverse proxy in front of Ringback and let `/genesys/1/admin/` through only on the internal side.',
    ],
    related: ['features', 'monitor'],
  },
  {
    id: 'tools-exceptions', area: 'Tools', title: 'Exception List', routes: ['tools/exceptions'],
    body: [
      'The phone numbers each callback service refuses: a callback requested for one of them is refused with an error.',
      'Choose a callback service; the numbers are listed one per line. Administrators edit the list and Save it; others read it.',
      'The list is the service\'s `_exceptions` option (the numbers, comma-separated), which the Services panel shows too.',
    ],
    related: ['callback', 'services'],
  },
  {
    id: 'context-services', area: 'Panel', title: 'Context Services', routes: ['context-services'],
    body: [
      'Customer journeys as Context Services keeps them: services, their states and their tasks. Shown to Administrators and Supervisors when `[cview] enabled = true` on a single-tenant installation (no `contact-center-ids`). After changing business attributes in the configuration, reload the page.',
      'Search: choose a key and type its exact value (there is no completion). The identification keys (`PhoneNumber`, `EmailAddress`, `Name`, and those added through the API) find customer profiles; for Name type the last name, then the first name (`Jones Jane`). Customer ID, Anonymous ID, Service ID, State ID and Task ID open journeys directly. A value no profile has is tried as an anonymous contact key.',
      { terms: [
        ['Which of these customers are you referring to?', 'Several profiles match: pick one.'],
        ["Couldn't find any services..", 'Nothing matches, or the customer has no journey.'],
      ] },
      'The three columns list the services of the customer (or contact), the states and the tasks of the selected service. Time Started sorts them Latest First or Oldest First; each column has its own filter (type name, ID, active or completed). Services come 100 at a time: Show more lists the next ones.',
      'Select an item for its General Information (Customer ID or Anonymous ID, ID, type as `Name (dbid)`, Time Started, Completed) and its Business Attributes: the fields of its start and end events, such as Media type (Started), then its extensions.',
      { list: [
        '+ starts a service, a state (a service must be selected) or a task (a service, and optionally one of its active states). Choose a type, fill the properties you need, and Start. Use Current Timestamp (checked) starts it now; unchecked, timestamp takes an ISO time or milliseconds. Additional properties + adds extensions: a value that reads as JSON is sent as JSON.',
        'Complete ends the selected service, state or task, with the same properties plus `disposition` and `disposition_desc`. A completed item shows a tick.',
        '× deletes a service with its states and tasks, after a confirmation. States and tasks cannot be deleted.',
      ] },
      'HTTP Request History lists every request the panel made since you opened it: action, path, data, method, status and time.',
      { note: 'With `[cview] use-role = true`, Supervisors only read: the panel shows no +, ×, Complete or Start.' },
    ],
    related: ['journey-timeline', 'roles'],
  },
  {
    id: 'journey-timeline', area: 'Panel', title: 'Journey Timeline', routes: ['journey-timeline'],
    body: [
      'A read-only view of one customer\'s journeys. Search by one of the keys the `[cview] timeline` configuration names (Email, Phone Number and Name by default), then pick the customer when several match. The header names the customer (Customer Name : Jones Jane) or the anonymous contact (Anonymous ID: …).',
      'The horizontal timeline draws each service as a bar from its start to its completion; an active service runs to now, striped green. Click a bar to select it. The left sidebar:',
      { terms: [
        ['Expand Timeline', 'Zoom in: half the time range.'],
        ['Contract Timeline', 'Zoom out: twice the time range.'],
        ['Move to First / Move to Last', 'The earliest start, or the latest activity.'],
        ['Move to Current Date', 'Centre on now.'],
        ['Filter', 'Show only Active or Completed services (at least one), those started in a date range, of a Service Type, with a state of a State Type, or whose type or ID contains a name. Reset clears the choices; Filter Applied: says what is shown.'],
      ] },
      'Drag the timeline with the mouse to move along it. With the keyboard, focus it and use the left and right arrows to move, + and - to zoom.',
      'Below, the vertical timeline lists the states of the selected service with their tasks ("No states exist." when it has none); select one for its details.',
      { terms: [
        ['Customer Profile', 'The profile\'s sections and rows the configuration names (Identification, Segmentation, Contact Information by default).'],
        ['KPIs', 'The customer\'s Total, Active and Completed Journeys and States; for the selected service, its active and completed states and tasks.'],
        ['Journey Details', 'The selection\'s type, ID, resource_type, media_type, interaction_id, application_type, and when it started and completed.'],
      ] },
    ],
    related: ['context-services'],
  },
  {
    id: 'callback-states', area: 'Guide', title: 'Callback States', routes: [],
    body: [
      'A callback moves through these states; the Callback panel filters and searches by them.',
      { terms: [
        ['SCHEDULED', 'Waiting for its desired time. It starts a little before that time (`_request_execution_time_buffer`). Only a scheduled callback can be rescheduled.'],
        ['QUEUED', 'Waiting in its virtual queue for an agent. Click it in the panel for its position and estimated wait.'],
        ['PAUSED', 'Queued, but its service is paused.'],
        ['ROUTING', 'An agent was found: the customer is being called, or waits on the line for the agent.'],
        ['PROCESSING', 'The customer talks to the agent.'],
        ['COMPLETED', 'Over. The reason says how.'],
      ] },
      'Some reasons of COMPLETED callbacks:',
      { terms: [
        ['AGENT_CONNECTED', 'The customer was connected to an agent.'],
        ['CANCELLED', 'Cancelled through the API, or with Cancel Callback in the panel.'],
        ['CANCELLED_BY_ADMIN', 'Cancelled with Cancel Callbacks (bulk cancel); Export Cancelled Callbacks lists these.'],
        ['FAIL_TIMEOUT_TTL', 'Not served before its time to live ran out.'],
        ['SUBMIT_FAILED', 'Could not be started after the attempts allowed.'],
        ['FAIL_USER_NO_CONFIRM', 'The customer did not confirm the call.'],
      ] },
      'Waiting callbacks (QUEUED, PAUSED and ROUTING) are what `_max_queued_callbacks_per_service` counts. A COMPLETED callback can be scheduled again from its row, as a new callback.',
    ],
    related: ['callback', 'tools-metrics', 'capacity'],
  },
  {
    id: 'time-zones', area: 'Guide', title: 'Office Hours and Time Zones', routes: [],
    body: [
      'An office-hours service reads its hours in its own time zone, `_timezone` (an IANA name such as `Europe/Paris`; UTC when not set). The server works out the open periods, daylight saving time included.',
      { terms: [
        ['`_bh_regularN`', 'Weekly hours: days and times, such as `Mon-Fri 09:00-17:00`. Days are one day, a range (`Fri-Mon` wraps) or a comma list; several time ranges are separated by commas. `Mon-Sun 00:00-24:00` is always open.'],
        ['`_holidayN`', 'Closed all day: `MM-dd` every year, or `yyyy-MM-dd` once.'],
        ['`_bh_addN`', 'Special office hours: `[yyyy-]MM-dd HH:MM-HH:MM`. They apply even on a holiday.'],
        ['`_import_ruleN`', 'Another office-hours service whose rules become part of this one, read in this service\'s time zone.'],
        ['`_import_scheduleN`', 'Another office-hours service whose open periods, in its own time zone, are added to this one\'s.'],
      ] },
      'A time range that ends before it starts (`22:00-06:00`) runs past midnight and belongs to the day it starts on. Changes to an imported service apply at once to the services importing it; a chain of imports that comes back to the same service is an error.',
      { note: 'GMS names the two imported calendar lists but not their options: `_import_ruleN` and `_import_scheduleN` are Ringback\'s names.' },
      'Which time zone the UI shows:',
      { list: [
        'Office Hours: the display time zone, the browser\'s unless Settings changes it. The calendar can be edited only when it is the office\'s.',
        'Callback: desired times in the browser\'s time zone; the column header names its offset from GMT.',
        'Capacity: the grid in the capacity service\'s `_timezone`.',
        'Metrics: buckets in the browser\'s time zone.',
      ] },
    ],
    related: ['office-hours', 'capacity', 'callback'],
  },
  {
    id: 'capacity', area: 'Guide', title: 'Capacity', routes: [],
    body: [
      'A capacity service (from the capacity template) says how many scheduled callbacks each hour of the week accepts. A callback service uses it by naming it in `_capacity_service`; without one, `_max_request_by_time_bucket` sets the limit.',
      'Open a capacity service in the Services panel: its Capacity grid shows 24 hourly slots for each day, Sunday first, in the service\'s `_timezone`.',
      { steps: [
        'Type a number in a cell, or type a value in "Value for Set Slot / Set Day" and click Set Day (one day, every hour) or Set Slot (one hour, every day).',
        'Save stores the grid (Reset drops the changes). Each day is kept as `_capacity_N`, N the ISO weekday (1 is Monday), with `_capacity` listing the days.',
        'For a date that differs, choose it under Capacity Exception and Add Exception, fill its hours and Save Exception. That date\'s hours replace the weekly grid for the whole day (`_capacity_add_yyyyMMdd`).',
      ] },
      'The number of a slot applies to each time bucket inside the hour (`_request_time_bucket` minutes, 5 by default): `"0900": 10` with 5-minute buckets accepts 120 callbacks between 09:00 and 10:00.',
      'A slot is offered (Check Availability in the Callback panel) only when the office hours are open at its start and it has places left. A number above `_max_capacity` (set in the `[capacity]` section, 1000 by default) makes the service answer with an error.',
    ],
    related: ['services', 'time-zones', 'callback'],
  },
  {
    id: 'features', area: 'Guide', title: 'Feature Switches', routes: [],
    body: [
      'The `[features]` section of the server\'s configuration turns panels and tools on or off. A tool that is off is hidden (and for Resources, Patterns and bulk cancel, the server also refuses their requests from the UI). Unknown names are reported as warnings when the server starts.',
      { terms: [
        ['`enable-resources`', 'Tools > Resources (off by default).'],
        ['`enable-patterns`', 'Tools > Patterns (off).'],
        ['`enable-downloaddfm`', 'Tools > Download DFM (off).'],
        ['`enable-metrics`', 'Tools > Metrics (off).'],
        ['`enable-config`', 'Tools > Config (off).'],
        ['`enable-sample`', 'Tools > Sample (off).'],
        ['`enable-contextual-help`', 'This help panel (off).'],
        ['`enable-logger`', 'DEBUG and INFO traces in the browser console (off).'],
        ['`enable-logger-error`', 'ERROR traces in the browser console (off).'],
        ['`disable-bulk-cancel-and-export-callback`', 'On by default: set it to `false` for bulk cancel and the cancelled-callbacks export in the Callback panel.'],
        ['`disable-additional-columns-from-callbacks`', 'Off by default: `true` hides the extra columns users add in the Callback panel.'],
      ] },
      { code: '[features]\nenable-metrics = true\nenable-contextual-help = true\ndisable-bulk-cancel-and-export-callback = false' },
    ],
    related: ['getting-started', 'tools-config', 'roles'],
  },
];

const BY_ID = new Map(TOPICS.map((t) => [t.id, t]));
const AREAS = ['Guide', 'Panel', 'Tools'];

/** The topic of a route (the hash parts: ['tools', 'metrics']); Getting Started when none. */
export function topicFor([tab, sub] = []) {
  const key = tab === 'tools' && sub ? `tools/${sub}` : tab;
  return TOPICS.find((t) => t.routes.includes(key))?.id ?? 'getting-started';
}

// ---- search ----------------------------------------------------------------------------------
/** A block's words, for the search. */
function textOf(block) {
  if (typeof block === 'string') return block;
  if (block.list || block.steps) return (block.list ?? block.steps).join(' ');
  if (block.terms) return block.terms.map(([t, d]) => `${t}: ${d}`).join(' ');
  return block.note ?? block.code ?? '';
}

const INDEX = TOPICS.map((topic) => {
  const text = topic.body.map(textOf).join(' ').replaceAll('`', '').replace(/\s+/g, ' ');
  return { topic, text, lower: text.toLowerCase(), title: topic.title.toLowerCase() };
});

/** The text around the first match: [before, match, after]. */
function snippetOf(entry, words) {
  const phrase = words.join(' ');
  let at = entry.lower.indexOf(phrase);
  let len = phrase.length;
  if (at < 0) [at, len] = [entry.lower.indexOf(words[0]), words[0].length];
  if (at < 0) [at, len] = [0, 0]; // only the title matches
  let from = Math.max(0, at - 50);
  if (from > 0) from = entry.text.indexOf(' ', from) + 1 || from;
  let to = Math.min(entry.text.length, at + len + 110);
  const space = entry.text.lastIndexOf(' ', to);
  if (to < entry.text.length && space > at + len) to = space;
  return [(from > 0 ? '…' : '') + entry.text.slice(from, at), entry.text.slice(at, at + len),
    entry.text.slice(at + len, to) + (to < entry.text.length ? '…' : '')];
}

/** The topics with every word of `query` in their title or text, the best first. */
export function searchTopics(query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [];
  const phrase = words.join(' ');
  return INDEX
    .filter((e) => words.every((w) => e.title.includes(w) || e.lower.includes(w)))
    .map((e, order) => ({
      topic: e.topic,
      snippet: snippetOf(e, words),
      order,
      score: (e.title.includes(phrase) ? 100 : 0) + words.filter((w) => e.title.includes(w)).length * 20 +
        (e.lower.includes(phrase) ? 10 : 0) + Math.min(10, e.lower.split(words[0]).length - 1),
    }))
    .sort((a, b) => b.score - a.score || a.order - b.order);
}

// ---- rendering -------------------------------------------------------------------------------
/** Text with `code` spans. */
function inline(text) {
  return text.split('`').map((s, i) => (i % 2 ? html`<code>${s}</code>` : s));
}

function Block({ block }) {
  if (typeof block === 'string') return html`<p>${inline(block)}</p>`;
  if (block.list) return html`<ul>${block.list.map((x) => html`<li>${inline(x)}</li>`)}</ul>`;
  if (block.steps) return html`<ol>${block.steps.map((x) => html`<li>${inline(x)}</li>`)}</ol>`;
  if (block.terms) return html`<dl>${block.terms.map(([t, d]) => html`<dt>${inline(t)}</dt><dd>${inline(d)}</dd>`)}</dl>`;
  if (block.note) return html`<p class="note">${inline(block.note)}</p>`;
  if (block.code) return html`<pre><code>${block.code}</code></pre>`;
  return null;
}

/** The question-mark icon of the help button. */
const HELP_ICON = html`<svg class="help-icon" viewBox="0 0 24 24" aria-hidden="true">
  <circle cx="12" cy="12" r="9.5" /><path d="M9.3 9.4a2.8 2.8 0 1 1 3.9 2.6c-.8.3-1.2 1-1.2 1.8v.6" />
  <circle class="dot" cx="12" cy="17.2" r="1.2" /></svg>`;

/** The top bar's help button: opens and closes the panel. */
export function HelpButton({ open, onToggle }) {
  return html`<button type="button" id="help-toggle" class="help-toggle" aria-label="Help" title="Help"
    aria-expanded=${open} aria-controls=${open ? 'help-panel' : undefined} onClick=${onToggle}>${HELP_ICON}</button>`;
}

/** The panel: the topic of `route` (the hash parts) until the user picks another. */
export function HelpPanel({ route, onClose }) {
  const here = topicFor(route);
  const [shown, setShown] = useState(here);
  const [query, setQuery] = useState('');
  const panel = useRef(null);
  const search = useRef(null);
  const heading = useRef(null);
  const body = useRef(null);
  // Set when the user picks a topic: the heading then takes the focus (not on a route change).
  const picked = useRef(false);
  const results = useMemo(() => searchTopics(query), [query]);

  // Closing gives the focus back to the help button, when it was in the panel (or nowhere).
  const close = () => {
    const active = document.activeElement;
    if (!active || active === document.body || panel.current?.contains(active)) document.getElementById('help-toggle')?.focus();
    onClose();
  };
  const closing = useRef(close);
  closing.current = close;
  const open = (id) => {
    if (id === shown && query === '') { heading.current?.focus(); return; }
    picked.current = true;
    setShown(id);
    setQuery('');
  };

  useEffect(() => search.current?.focus(), []);
  // Follow the route.
  useEffect(() => { setShown(here); setQuery(''); }, [here]);
  useEffect(() => {
    if (body.current) body.current.scrollTop = 0;
    if (picked.current) {
      picked.current = false;
      heading.current?.focus();
    }
  }, [shown, query === '']);
  // Escape closes the panel, unless a dialog is open (it closes the dialog) or a field used it.
  useEffect(() => {
    const key = (e) => {
      if (e.key !== 'Escape' || e.defaultPrevented || document.querySelector('[aria-modal="true"]')) return;
      closing.current();
    };
    document.addEventListener('keydown', key);
    return () => document.removeEventListener('keydown', key);
  }, []);

  const searchKey = (e) => {
    if (e.key === 'Escape' && query) { e.preventDefault(); setQuery(''); }
    if (e.key === 'Enter' && results.length) { e.preventDefault(); open(results[0].topic.id); }
  };
  const topic = shown === 'contents' ? null : BY_ID.get(shown) ?? BY_ID.get(here);

  return html`<aside id="help-panel" class="help" aria-label="Help" ref=${panel}>
    <header class="help-head">
      <h2>${HELP_ICON} Help</h2>
      <button type="button" class="link" onClick=${() => open('contents')}>Contents</button>
      <button type="button" class="icon-button" aria-label="Close" title="Close help (Escape)" onClick=${close}>×</button>
    </header>
    <div class="help-search">
      <input type="search" ref=${search} aria-label="Search help" placeholder="Search help" value=${query}
        onInput=${(e) => setQuery(e.target.value)} onKeyDown=${searchKey} />
    </div>
    <div class="help-body" ref=${body}>
      ${query.trim() ? html`<section aria-label="Search results">
          <p class="muted" role="status">${results.length ? `${results.length} topic(s) found` : 'No topic matches your search.'}</p>
          <ul class="help-results">${results.map(({ topic: t, snippet: [before, hit, after] }) => html`<li key=${t.id}>
            <button type="button" aria-labelledby=${`help-r-${t.id}`} aria-describedby=${`help-s-${t.id}`} onClick=${() => open(t.id)}>
              <strong id=${`help-r-${t.id}`}>${t.title}</strong> <span class="muted">${t.area}</span>
              <span class="snippet" id=${`help-s-${t.id}`}>${before}<mark>${hit}</mark>${after}</span>
            </button></li>`)}</ul>
        </section>`
      : html`<article class="help-topic" aria-labelledby="help-title">
          ${shown !== here && html`<button type="button" class="link help-back" onClick=${() => open(here)}>
            <span aria-hidden="true">← </span>Back to ${BY_ID.get(here).title}</button>`}
          ${topic && html`<p class="help-area">${shown === here && topic.routes.length ? 'This panel' : topic.area}</p>`}
          <h3 id="help-title" tabindex="-1" ref=${heading}>${topic ? topic.title : 'Contents'}</h3>
          ${topic ? html`${topic.body.map((b) => html`<${Block} block=${b} />`)}
            <section class="help-related" aria-labelledby="help-related">
              <h4 id="help-related">Related Topics</h4>
              <ul>${topic.related.filter((id) => BY_ID.has(id)).map((id) => html`<li key=${id}>
                <button type="button" class="link" onClick=${() => open(id)}>${BY_ID.get(id).title}</button></li>`)}</ul>
            </section>`
          : AREAS.map((area) => html`<section class="help-contents" aria-label=${area} key=${area}>
              <h4>${area === 'Panel' ? 'Panels' : area === 'Guide' ? 'Guides' : area}</h4>
              <ul>${TOPICS.filter((t) => t.area === area).map((t) => html`<li key=${t.id}>
                <button type="button" class="link" onClick=${() => open(t.id)}>${t.title}</button></li>`)}</ul>
            </section>`)}
        </article>`}
    </div>
  </aside>`;
}

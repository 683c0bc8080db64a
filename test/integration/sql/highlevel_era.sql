-- A HighLevel-era database as the plan's dashboard left it before Retell: the "existing"
-- tables, laid out as a Supabase project's own SQL editor would have made them (uuid ids,
-- timestamptz, columns of its own such as full_name, avatar_url, notes, a status), none of
-- our later columns, and rows in every table. test_migrations_adopt.py migrates it twice and
-- compares every row. auth.users is whatever the database has (plain or Supabase-shaped).
CREATE TABLE public.profiles (
    id uuid NOT NULL PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
    email text,
    full_name text,
    avatar_url text,
    role text DEFAULT 'client',
    company_name text,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);

CREATE TABLE public.agents (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    name text NOT NULL,
    highlevel_agent_id text,
    location_id text,
    description text,
    is_active boolean DEFAULT true,
    created_at timestamptz DEFAULT now()
);
ALTER TABLE public.agents ADD CONSTRAINT agents_hl_unique UNIQUE (highlevel_agent_id);

CREATE TABLE public.user_agents (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    agent_id uuid NOT NULL REFERENCES public.agents (id) ON DELETE CASCADE,
    assigned_at timestamptz DEFAULT now(),
    UNIQUE (user_id, agent_id)
);

CREATE TABLE public.calls (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    user_id uuid REFERENCES auth.users (id),
    agent_id uuid REFERENCES public.agents (id),
    highlevel_call_id text UNIQUE,
    contact_id text,
    contact_name text,
    from_number text,
    to_number text,
    started_at timestamptz,
    duration_seconds integer,
    cost numeric(10, 2),
    transcript text,
    recording_url text,
    summary text,
    status text,
    notes text,
    created_at timestamptz DEFAULT now()
);

CREATE TABLE public.api_keys (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    service text NOT NULL,
    access_token text,
    refresh_token text,
    token_expires_at timestamptz,
    location_id text,
    is_active boolean DEFAULT true,
    created_at timestamptz DEFAULT now(),
    CONSTRAINT api_keys_user_service UNIQUE (user_id, service)
);

CREATE TABLE public.billing_accounts (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    user_id uuid NOT NULL UNIQUE REFERENCES auth.users (id) ON DELETE CASCADE,
    inbound_rate_per_minute numeric(12, 4) DEFAULT 0.15,
    outbound_rate_per_minute numeric(12, 4) DEFAULT 0.20,
    billing_increment_seconds integer DEFAULT 60,
    plan_name text,
    created_at timestamptz DEFAULT now()
);

INSERT INTO auth.users (id, email, created_at) VALUES
    ('00000000-0000-4000-8000-00000000000a', 'owner@agency.test', '2024-01-02 10:00:00+00'),
    ('00000000-0000-4000-8000-00000000000b', 'dentist@client.test', '2024-02-03 11:00:00+00'),
    ('00000000-0000-4000-8000-00000000000c', 'plumber@client.test', '2024-03-04 12:00:00+00');

INSERT INTO public.profiles (id, email, full_name, avatar_url, role, company_name, created_at, updated_at) VALUES
    ('00000000-0000-4000-8000-00000000000a', 'owner@agency.test', 'Olive Owner', NULL, 'admin', 'The Agency', '2024-01-02 10:00:00+00', '2024-05-01 09:00:00+00'),
    ('00000000-0000-4000-8000-00000000000b', 'dentist@client.test', 'Dana Dentist', 'https://cdn.test/d.png', 'client', 'Smile Co', '2024-02-03 11:00:00+00', '2024-02-03 11:00:00+00'),
    ('00000000-0000-4000-8000-00000000000c', 'plumber@client.test', 'Paul Plumber', NULL, 'client', 'Pipes Ltd', '2024-03-04 12:00:00+00', '2024-03-04 12:00:00+00');

INSERT INTO public.agents (id, name, highlevel_agent_id, location_id, description, is_active, created_at) VALUES
    ('10000000-0000-4000-8000-000000000001', 'Front desk', 'hl-agent-1', 'loc-smile', 'Books appointments', true, '2024-02-05 08:00:00+00'),
    ('10000000-0000-4000-8000-000000000002', 'Emergency line', 'hl-agent-2', 'loc-pipes', NULL, false, '2024-03-06 08:00:00+00');

INSERT INTO public.user_agents (id, user_id, agent_id, assigned_at) VALUES
    ('20000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-00000000000b', '10000000-0000-4000-8000-000000000001', '2024-02-05 09:00:00+00'),
    ('20000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-00000000000c', '10000000-0000-4000-8000-000000000002', '2024-03-06 09:00:00+00');

INSERT INTO public.calls (id, user_id, agent_id, highlevel_call_id, contact_id, contact_name, from_number, to_number, started_at, duration_seconds, cost, transcript, recording_url, summary, status, notes, created_at) VALUES
    ('30000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-00000000000b', '10000000-0000-4000-8000-000000000001', 'hl-call-1', 'c-1', 'Ann', '+15550000001', '+15550000101', '2024-04-01 14:00:00+00', 125, 0.45, 'Agent: Hello', 'https://services.leadconnectorhq.com/rec/1', 'Booked a cleaning', 'completed', 'vip', '2024-04-01 14:03:00+00'),
    ('30000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-00000000000c', '10000000-0000-4000-8000-000000000002', 'hl-call-2', 'c-2', 'Bob', '+15550000002', '+15550000102', '2024-04-02 15:00:00+00', 59, 0.20, NULL, NULL, NULL, 'missed', NULL, '2024-04-02 15:01:00+00');

INSERT INTO public.api_keys (id, user_id, service, access_token, refresh_token, token_expires_at, location_id, is_active, created_at) VALUES
    ('40000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-00000000000b', 'highlevel', 'hl-access-plain', 'hl-refresh-plain', '2024-06-01 00:00:00+00', 'loc-smile', true, '2024-02-05 08:30:00+00');

INSERT INTO public.billing_accounts (id, user_id, inbound_rate_per_minute, outbound_rate_per_minute, billing_increment_seconds, plan_name, created_at) VALUES
    ('50000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-00000000000b', 0.1500, 0.2000, 60, 'starter', '2024-02-03 11:05:00+00');

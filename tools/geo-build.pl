#!/usr/bin/perl
# geo-build.pl -- writes loophole's merged geo database with MaxMind's own
# writer (MaxMind::DB::Writer, Debian package libmaxmind-db-writer-perl).
#
#   perl tools/geo-build.pl --out FILE.mmdb [--country CSV]... [--asn CSV]...
#                           [--type NAME] [--description TEXT]
#
# Input is the ip-location-db CSV layout (https://github.com/sapics/ip-location-db):
#   country: first_ip,last_ip,CC
#   asn:     first_ip,last_ip,AS_NUMBER,"AS organisation"
# IPv4 and IPv6 rows may be mixed in any file. The output is one IPv6 tree
# (IPv4 under ::a.b.c.d, as libmaxminddb looks it up) whose records use the
# GeoLite2 field names, so readers of GeoLite2 Country and ASN files read it
# unchanged:
#   { country => { iso_code => CC },
#     autonomous_system_number => N, autonomous_system_organization => ORG }
# Country and ASN ranges that overlap are merged record by record by the
# writer ("toplevel" merge strategy). Only these three fields are kept: the
# sensor needs nothing else, and fewer distinct records make a smaller file.
# The file is written next to --out and renamed into place, so a reader
# never sees half a database.
use strict;
use warnings;
use Getopt::Long;
use MaxMind::DB::Writer::Tree;

my (@country, @asn, $out);
my $type = 'loophole-geo';
my $desc = 'loophole merged country and ASN database';
GetOptions(
    'country=s'     => \@country,
    'asn=s'         => \@asn,
    'out=s'         => \$out,
    'type=s'        => \$type,
    'description=s' => \$desc,
) or die "usage: $0 --out FILE [--country CSV]... [--asn CSV]...\n";
die "$0: --out is required\n" unless defined $out;
die "$0: give at least one --country or --asn file\n" unless @country || @asn;

my %types = (
    country                        => 'map',
    iso_code                       => 'utf8_string',
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 28,
    database_type            => $type,
    languages                => ['en'],
    description              => { en => $desc },
    map_key_type_callback    => sub { $types{ $_[0] } },
    merge_strategy           => 'toplevel',
    remove_reserved_networks => 0,
);

# Calls $row->(fields...) for each line; dies naming FILE:LINE on bad input.
sub each_row {
    my ($file, $min, $row) = @_;
    open my $fh, '<:encoding(UTF-8)', $file or die "$file: $!\n";
    while (my $line = <$fh>) {
        chomp $line;
        $line =~ s/\r$//;
        next if $line eq '' || $line =~ /^#/;
        my @f = $line =~ /^([^,]+),([^,]+),([^,]+)(?:,(.*))?$/
          or die "$file:$.: expected first_ip,last_ip,... \n";
        if (defined $f[3] && $f[3] =~ /^"(.*)"$/) {
            ($f[3] = $1) =~ s/""/"/g;
        }
        die "$file:$.: expected $min fields\n" if $min > 3 && !defined $f[3];
        eval { $row->(@f); 1 } or die "$file:$.: $@";
    }
    close $fh;
}

for my $file (@country) {
    each_row($file, 3, sub {
        my ($first, $last, $cc) = @_;
        die "not a country code: $cc\n" unless $cc =~ /^[A-Z]{2}$/;
        $tree->insert_range($first, $last, { country => { iso_code => $cc } });
    });
}
for my $file (@asn) {
    each_row($file, 4, sub {
        my ($first, $last, $n, $org) = @_;
        die "not an AS number: $n\n" unless $n =~ /^\d+$/ && $n < 2**32;
        my %rec = (autonomous_system_number => $n + 0);
        $rec{autonomous_system_organization} = $org if defined $org && $org ne '';
        $tree->insert_range($first, $last, \%rec);
    });
}

my $tmp = "$out.tmp.$$";
open my $fh, '>:raw', $tmp or die "$tmp: $!\n";
$tree->write_tree($fh);
close $fh or die "$tmp: $!\n";
rename $tmp, $out or die "$out: $!\n";
